package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// PythonWith returns a python3 interpreter that can import every module
// named (for example "gssapi" from Debian's python3-gssapi, which only
// the system interpreter has when a pyenv or virtualenv python3 comes
// first in PATH). It skips the test when there is none, except in CI
// (CI=true), where that is a failure.
func PythonWith(t testing.TB, modules ...string) string {
	t.Helper()
	var cands []string
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3", "/usr/local/bin/python3")
	script := ""
	for _, m := range modules {
		script += "import " + m + "\n"
	}
	for _, p := range cands {
		if err := exec.Command(p, "-c", script).Run(); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("interop peer missing in CI: no python3 with %v (make test installs it)", modules)
	}
	t.Skipf("interop peer missing: no python3 with %v (run make deps)", modules)
	return ""
}
