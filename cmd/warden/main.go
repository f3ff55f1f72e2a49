// Command warden is the Warden authentication authority: KDC, validation
// service, PKI and their admin and client tools in one binary.
package main

import (
	"os"

	"github.com/warden-auth/warden/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(cli.Execute(version, os.Args[1:], os.Stdout, os.Stderr))
}
