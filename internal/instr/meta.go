package instr

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Metadata instructions change only the image config; each adds an
// empty-layer history entry worded as BuildKit words it.

func dispatchEnv(s *State, c *instructions.EnvCommand, epoch time.Time) {
	msg := bytes.NewBufferString("ENV")
	for _, kv := range c.Env {
		s.Img.SetEnv(kv.Key, kv.Value)
		s.envSet(kv.Key)
		msg.WriteString(" " + kv.String())
	}
	s.Img.AddHistory(msg.String(), epoch)
}

func dispatchLabel(s *State, c *instructions.LabelCommand, epoch time.Time) {
	cfg := &s.Img.Config.Config
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	msg := bytes.NewBufferString("LABEL")
	for _, kv := range c.Labels {
		cfg.Labels[kv.Key] = kv.Value
		msg.WriteString(" " + kv.String())
	}
	s.Img.AddHistory(msg.String(), epoch)
}

func dispatchVolume(s *State, c *instructions.VolumeCommand, epoch time.Time) error {
	cfg := &s.Img.Config.Config
	if cfg.Volumes == nil {
		cfg.Volumes = map[string]struct{}{}
	}
	for _, v := range c.Volumes {
		if v == "" {
			return fmt.Errorf("VOLUME specified can not be an empty string")
		}
		cfg.Volumes[v] = struct{}{}
	}
	s.Img.AddHistory(fmt.Sprintf("VOLUME %v", c.Volumes), epoch)
	return nil
}

func dispatchUser(s *State, c *instructions.UserCommand, epoch time.Time) {
	s.Img.Config.Config.User = c.User
	s.Img.AddHistory(fmt.Sprintf("USER %v", c.User), epoch)
}

// shellForm applies the stage's SHELL to a shell-form command line.
func (s *State) shellForm(cl instructions.ShellDependantCmdLine) []string {
	if !cl.PrependShell {
		return append([]string(nil), cl.CmdLine...)
	}
	return append(s.shell(), strings.Join(cl.CmdLine, " "))
}

func (s *State) shell() []string {
	if sh := s.Img.Config.Config.Shell; len(sh) > 0 {
		return append([]string(nil), sh...)
	}
	return []string{"/bin/sh", "-c"}
}

func dispatchCmd(s *State, c *instructions.CmdCommand, epoch time.Time) {
	args := s.shellForm(c.ShellDependantCmdLine)
	s.Img.Config.Config.Cmd = args
	//lint:ignore SA1019 BuildKit sets the deprecated field on every CMD (Docker's image spec).
	s.Img.Config.Config.ArgsEscaped = true
	s.cmdSet = true
	s.Img.AddHistory(fmt.Sprintf("CMD %q", args), epoch)
}

func dispatchEntrypoint(s *State, c *instructions.EntrypointCommand, epoch time.Time) {
	args := s.shellForm(c.ShellDependantCmdLine)
	s.Img.Config.Config.Entrypoint = args
	// As in BuildKit, a new ENTRYPOINT resets a CMD inherited from the
	// base, but not one this stage set.
	if !s.cmdSet {
		s.Img.Config.Config.Cmd = nil
	}
	s.Img.AddHistory(fmt.Sprintf("ENTRYPOINT %q", args), epoch)
}

func dispatchShell(s *State, c *instructions.ShellCommand, epoch time.Time) {
	s.Img.Config.Config.Shell = append([]string(nil), c.Shell...)
	s.Img.AddHistory(fmt.Sprintf("SHELL %v", c.Shell), epoch)
}

func dispatchStopSignal(s *State, c *instructions.StopSignalCommand, epoch time.Time) {
	s.Img.Config.Config.StopSignal = c.Signal
	s.Img.AddHistory(fmt.Sprintf("STOPSIGNAL %v", c.Signal), epoch)
}

func dispatchMaintainer(s *State, c *instructions.MaintainerCommand, epoch time.Time) {
	s.Img.Config.Author = c.Maintainer
	s.Img.AddHistory(fmt.Sprintf("MAINTAINER %v", c.Maintainer), epoch)
}

func dispatchHealthcheck(s *State, c *instructions.HealthCheckCommand, epoch time.Time) {
	h := *c.Health
	s.Img.Config.Config.Healthcheck = &h
	s.Img.AddHistory(fmt.Sprintf("HEALTHCHECK %+v", h), epoch)
}

// dispatchOnbuild records the trigger; as in BuildKit, it adds no history.
func dispatchOnbuild(s *State, c *instructions.OnbuildCommand) {
	s.Img.Config.Config.OnBuild = append(s.Img.Config.Config.OnBuild, c.Expression)
}
