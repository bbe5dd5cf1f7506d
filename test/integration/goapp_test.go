package integration

import (
	"strings"
	"testing"
)

// greeting is what the example Go program prints.
const greeting = "hello from kiln"

const goMain = `package main

import "fmt"

func greeting() string { return "hello from kiln" }

func main() { fmt.Println(greeting()) }
`

const goTestPass = `package main

import "testing"

func TestGreeting(t *testing.T) {
	if got := greeting(); got != "hello from kiln" {
		t.Fatalf("greeting() = %q", got)
	}
}
`

// goTestFailMarker is printed by the failing test, so its output can be
// found in kiln's.
const goTestFailMarker = "KILN-IT-EXPECTED-FAILURE"

var goTestFail = strings.Replace(goTestPass, `"hello from kiln"`, `"hello from elsewhere"`, 1) +
	`
func TestMarker(t *testing.T) { t.Error("` + goTestFailMarker + `") }
`

// goAppContext writes the example Go module (no dependencies, an empty
// go.sum so the seed's `COPY go.mod go.sum ./` works) into a fresh context
// directory. All passing contexts have the same content, so a test's builds
// share the cached Go build.
func goAppContext(t *testing.T, failingTest bool) string {
	t.Helper()
	dir := t.TempDir()
	test := goTestPass
	if failingTest {
		test = goTestFail
	}
	writeFiles(t, dir, map[string]string{
		"go.mod":       "module example.com/app\n\ngo 1.22\n",
		"go.sum":       "",
		"main.go":      goMain,
		"main_test.go": test,
	})
	return dir
}

// dockerfileLine returns the 1-based line of the first line of df that
// equals text, for asserting `Dockerfile:N` in errors.
func dockerfileLine(t *testing.T, df, text string) int {
	t.Helper()
	for i, l := range strings.Split(df, "\n") {
		if strings.TrimSpace(l) == text {
			return i + 1
		}
	}
	t.Fatalf("Dockerfile has no line %q", text)
	return 0
}
