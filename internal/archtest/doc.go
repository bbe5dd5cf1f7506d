// Package archtest holds no code: its test checks that the packages import
// one another as docs/architecture.md says (floors and rules), so the
// design of record cannot drift from the code unnoticed.
package archtest
