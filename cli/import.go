package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// importRecord is one user of an import file.
type importRecord struct {
	Line     int               `json:"-"`
	Name     string            `json:"name"`
	Password string            `json:"password"`
	Groups   []string          `json:"groups"`
	Claims   map[string]string `json:"claims"`
	UPN      string            `json:"upn"`
}

// readImport reads CSV (header name,password[,groups][,claims][,upn];
// groups separated by ";", claims as ID=VALUE separated by ";") or JSON
// lines, chosen by the first non-blank character.
func readImport(r io.Reader) ([]importRecord, error) {
	br := bufio.NewReader(r)
	for {
		b, err := br.Peek(1)
		if err != nil {
			return nil, errors.New("import file is empty")
		}
		if b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t' {
			br.ReadByte()
			continue
		}
		if b[0] == '{' {
			return readJSONLines(br)
		}
		return readCSV(br)
	}
}

func readJSONLines(r io.Reader) ([]importRecord, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []importRecord
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec importRecord
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		rec.Line = n
		out = append(out, rec)
	}
	return out, sc.Err()
}

func readCSV(r io.Reader) ([]importRecord, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("CSV header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["name"]; !ok {
		return nil, errors.New(`CSV header must name the columns: name,password[,groups][,claims][,upn]`)
	}
	if _, ok := col["password"]; !ok {
		return nil, errors.New(`CSV header has no "password" column`)
	}
	get := func(row []string, k string) string {
		if i, ok := col[k]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	var out []importRecord
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		rec := importRecord{Line: line, Name: get(row, "name"), Password: get(row, "password"), UPN: get(row, "upn")}
		if g := get(row, "groups"); g != "" {
			rec.Groups = strings.Split(g, ";")
		}
		if c := get(row, "claims"); c != "" {
			rec.Claims = map[string]string{}
			for _, kv := range strings.Split(c, ";") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("line %d: claim %q is not ID=VALUE", line, kv)
				}
				rec.Claims[k] = v
			}
		}
		out = append(out, rec)
	}
}

func newImportCmd() *cobra.Command {
	var workers int
	var etypes []string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Create users in bulk from CSV or JSON lines (name, password, groups, claims)",
		Long: `Create users in bulk. FILE (or - for stdin) is CSV with a header row
(name,password[,groups][,claims][,upn]; groups separated by ";", claims as
ID=VALUE separated by ";") or JSON lines ({"name":..,"password":..,
"groups":[..],"claims":{"ID":"VALUE"}}). Key derivation runs on all cores;
a summary lists what was created and what was refused, and why.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			recs, err := readImport(in)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			a, done, err := openAdmin(cmd)
			if err != nil {
				return err
			}
			defer done()
			if workers <= 0 {
				workers = runtime.NumCPU()
			}
			keys, err := keyOptions(etypes)
			if err != nil {
				return err
			}
			return runImport(cmd, a, recs, workers, keys)
		},
	}
	cmd.Flags().IntVar(&workers, "workers", 0, "parallel workers (default: number of CPUs)")
	cmd.Flags().StringSliceVar(&etypes, "enctypes", nil, "Kerberos keys to derive (default: the four AES enctypes)")
	return cmd
}

func runImport(cmd *cobra.Command, a *admin.Admin, recs []importRecord, workers int, keys admin.KeyOptions) error {
	type failure struct {
		rec importRecord
		err error
	}
	var (
		created atomic.Int64
		doneN   atomic.Int64
		mu      sync.Mutex
		failed  []failure
		wg      sync.WaitGroup
	)
	jobs := make(chan importRecord)
	start := time.Now()
	stop := make(chan struct{})
	progressDone := make(chan struct{})
	errw := cmd.ErrOrStderr()
	go func() {
		defer close(progressDone)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				progress(errw, int(doneN.Load()), len(recs))
				fmt.Fprintln(errw)
				return
			case <-t.C:
				progress(errw, int(doneN.Load()), len(recs))
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rec := range jobs {
				err := importOne(cmd, a, rec, keys)
				if err != nil {
					mu.Lock()
					failed = append(failed, failure{rec, err})
					mu.Unlock()
				} else {
					created.Add(1)
				}
				doneN.Add(1)
			}
		}()
	}
	for _, r := range recs {
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	close(stop)
	<-progressDone

	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "created %d users, refused %d, in %s\n", created.Load(), len(failed), time.Since(start).Round(time.Millisecond))
	for _, f := range failed {
		fmt.Fprintf(out, "  line %d (%s): %v\n", f.rec.Line, f.rec.Name, f.err)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d users were not created", len(failed), len(recs))
	}
	return nil
}

func importOne(cmd *cobra.Command, a *admin.Admin, rec importRecord, keys admin.KeyOptions) error {
	if rec.Name == "" {
		return errors.New("no name")
	}
	if rec.Password == "" {
		return errors.New("no password")
	}
	if _, err := a.AddUser(ctx(cmd), rec.Name, rec.Password, admin.UserOptions{UPN: rec.UPN, Groups: rec.Groups, Keys: keys}); err != nil {
		return err
	}
	for id, v := range rec.Claims {
		if _, err := a.SetClaim(ctx(cmd), rec.Name, id+"="+v); err != nil {
			return fmt.Errorf("created, but claim %s: %w", id, err)
		}
	}
	return nil
}

func progress(w io.Writer, done, total int) {
	const width = 30
	if total == 0 {
		return
	}
	n := done * width / total
	fmt.Fprintf(w, "\r[%s%s] %d/%d", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
}

// keyOptions turns --enctypes names into key options.
func keyOptions(names []string) (admin.KeyOptions, error) {
	var o admin.KeyOptions
	for _, n := range names {
		e, ok := krb5.ParseEncType(strings.TrimSpace(n))
		if !ok || !kcrypto.Supported(e) {
			return o, withHint(fmt.Errorf("unknown or unsupported enctype %q", n),
				"use aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192, aes128-cts-hmac-sha256-128")
		}
		if e == krb5.ETypeRC4HMAC {
			o.RC4 = true
			continue
		}
		o.ETypes = append(o.ETypes, e)
	}
	return o, nil
}
