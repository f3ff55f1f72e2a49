package config

import (
	"strings"
	"testing"
)

// Validate lists every problem, each with its field path.
func TestValidateListsEveryProblem(t *testing.T) {
	c := Default("EXAMPLE.TEST")
	if err := c.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	c.Realm = "bad realm"
	c.Database.Driver = "oracle"
	c.KDC.Addr = "no-port"
	c.Log.Level = "loud"
	err := c.Validate()
	if err == nil {
		t.Fatal("no problems found")
	}
	for _, want := range []string{"realm:", "database.driver:", "kdc.addr:", "log.level:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := Default("EXAMPLE.TEST")
	c.KDC.MaxSkew = Duration(3 * 60e9)
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Realm != c.Realm || got.KDC.MaxSkew != c.KDC.MaxSkew || got.Dir != dir {
		t.Errorf("got %+v", got)
	}
}
