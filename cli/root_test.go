package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestExecute(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version command", args: []string{"version"}, wantStdout: "warden 1.2.3 ("},
		{name: "version flag", args: []string{"--version"}, wantStdout: "warden 1.2.3\n"},
		{name: "help", args: []string{"--help"}, wantStdout: "authentication authority"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 1, wantStderr: "warden: error: unknown command \"frobnicate\""},
		{name: "extra args", args: []string{"version", "x"}, wantCode: 1, wantStderr: "warden: error:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Execute("1.2.3", tc.args, &out, &errOut)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tc.wantStdout) {
				t.Errorf("stdout %q does not contain %q", out.String(), tc.wantStdout)
			}
			if !strings.Contains(errOut.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), tc.wantStderr)
			}
		})
	}
}

func TestPrintErrorHint(t *testing.T) {
	var b bytes.Buffer
	printError(&b, withHint(errors.New("boom"), "do the thing"))
	want := "warden: error: boom\nwarden: hint: do the thing\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
