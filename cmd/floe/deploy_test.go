package main_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDeployFiles checks deploy/ statically, since no Docker engine runs
// here: the build stage's Go matches go.mod, the build target exists, the
// final stage runs as non-root, and every floe command and flag the files
// use exists in `floe --help`.
func TestDeployFiles(t *testing.T) {
	root := filepath.Join("..", "..")
	docker, err := os.ReadFile(filepath.Join(root, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVer == nil {
		t.Fatal("go.mod has no go directive")
	}
	var froms, users []string
	var buildTarget string
	sc := bufio.NewScanner(strings.NewReader(string(docker)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "FROM "):
			froms = append(froms, line)
		case strings.HasPrefix(line, "USER "):
			users = append(users, strings.TrimPrefix(line, "USER "))
		case strings.Contains(line, "go build"):
			fields := strings.Fields(line)
			buildTarget = fields[len(fields)-1]
		}
	}
	if len(froms) != 2 || !strings.Contains(froms[0], "golang:"+string(goVer[1])) {
		t.Errorf("want a two-stage build starting FROM golang:%s, got %q", goVer[1], froms)
	}
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1], "root") {
		t.Errorf("the image must run as a non-root user, USER lines: %q", users)
	}
	if st, err := os.Stat(filepath.Join(root, buildTarget)); err != nil || !st.IsDir() {
		t.Errorf("go build target %q does not exist", buildTarget)
	}

	// Every `floe <command> --flag` in deploy/ must exist in that
	// command's --help.
	use := regexp.MustCompile(`floe\s+((?:[a-z]+\s+)*?[a-z]+)\s+((?:--[a-z0-9-]+.*)+)`)
	flag := regexp.MustCompile(`--[a-z0-9-]+`)
	files, _ := filepath.Glob(filepath.Join(root, "deploy", "*"))
	checked := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		// Join shell line continuations, also inside comments.
		text := regexp.MustCompile(`\\\n[#\s]*`).ReplaceAllString(string(data), " ")
		for _, m := range use.FindAllStringSubmatch(text, -1) {
			cmdWords := strings.Fields(m[1])
			help, err := exec.Command(floeBin, append(cmdWords, "--help")...).CombinedOutput()
			if err != nil {
				t.Errorf("%s: `floe %s` is not a command: %v\n%s", filepath.Base(f), m[1], err, help)
				continue
			}
			for _, fl := range flag.FindAllString(m[2], -1) {
				if !strings.Contains(string(help), fl+"=") && !strings.Contains(string(help), fl+" ") {
					t.Errorf("%s: `floe %s` has no flag %s", filepath.Base(f), m[1], fl)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Error("found no floe flags to check in deploy/: the pattern is broken")
	}
}
