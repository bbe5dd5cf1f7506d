package lint

import "github.com/moby/buildkit/frontend/dockerfile/linter"

type ruleInfo struct{ description, url string }

// buildkitRuleInfo is BuildKit's description and URL of the rules kiln
// words itself (c.add), so that --call=check shows what BuildKit shows.
var buildkitRuleInfo = map[string]ruleInfo{
	linter.RuleFromPlatformFlagConstDisallowed.Name: {linter.RuleFromPlatformFlagConstDisallowed.Description, linter.RuleFromPlatformFlagConstDisallowed.URL},
	linter.RuleRedundantTargetPlatform.Name:         {linter.RuleRedundantTargetPlatform.Description, linter.RuleRedundantTargetPlatform.URL},
	linter.RuleMultipleInstructionsDisallowed.Name:  {linter.RuleMultipleInstructionsDisallowed.Description, linter.RuleMultipleInstructionsDisallowed.URL},
	linter.RuleWorkdirRelativePath.Name:             {linter.RuleWorkdirRelativePath.Description, linter.RuleWorkdirRelativePath.URL},
	linter.RuleSecretsUsedInArgOrEnv.Name:           {linter.RuleSecretsUsedInArgOrEnv.Description, linter.RuleSecretsUsedInArgOrEnv.URL},
	linter.RuleExposeProtoCasing.Name:               {linter.RuleExposeProtoCasing.Description, linter.RuleExposeProtoCasing.URL},
	linter.RuleJSONArgsRecommended.Name:             {linter.RuleJSONArgsRecommended.Description, linter.RuleJSONArgsRecommended.URL},
}
