// Package kdc is Warden's Key Distribution Center engine: the AS and TGS
// exchanges of RFC 4120 over the account DB, as a bytes-in, bytes-out
// Handler, plus UDP and TCP serving with a lookaside cache.
//
// The engine never logs. Every request yields a Result (operation,
// principals, error code and the reason) that the daemon logs once; the
// reason also travels to the client as the KRB-ERROR e-text, and so never
// contains secrets.
package kdc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/warden-auth/warden/internal/der"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/store"
)

// Config configures a KDC. Zero values are the documented defaults.
type Config struct {
	// Store is the account DB (required). The realm name and lifetimes
	// come from its realm record.
	Store store.Store
	// Time returns the current time (default time.Now).
	Time func() time.Time
	// Rand is the source of session keys and confounders (default
	// crypto/rand).
	Rand io.Reader
	// MaxSkew is the allowed clock difference with clients (default 5m).
	MaxSkew time.Duration
	// Crypto selects optional enctypes (RC4 off by default).
	Crypto kcrypto.Options
	// PollInterval is how often the principal cache checks the store for
	// changes made by other processes (default 1s).
	PollInterval time.Duration
	// LogonServer is the NetBIOS name of this KDC that PACs carry in
	// KERB_VALIDATION_INFO.LogonServer (default: the host name's first
	// label in upper case, at most 15 characters).
	LogonServer string
	// PKINIT enables certificate logon and anonymous PKINIT (pkinit.go);
	// nil: off.
	PKINIT *PKINITConfig
}

// Default lifetimes when the realm record leaves them zero.
const (
	DefaultMaxLife  = 10 * time.Hour
	DefaultMaxRenew = 7 * 24 * time.Hour
)

// KDC answers AS and TGS requests for one realm.
type KDC struct {
	cfg   Config // defaults filled in
	realm string
	dir   *directory
	// krbtgtName is "krbtgt/REALM", the name of the TGS principal, and
	// krbtgtKey its directory key (lookupLowered).
	krbtgtName, krbtgtKey string
	// krbtgtAt is the TGS principal as Results name it, and known the
	// strings most requests hold (krb5.ReqMem.Known): made once, not per
	// request.
	krbtgtAt string
	known    []string
	pkinit   *pkinitState // nil: PKINIT off
}

// New returns a KDC over the store's realm. Close releases it.
func New(cfg Config) (*KDC, error) {
	if cfg.Store == nil {
		return nil, errors.New("kdc: Config.Store is required")
	}
	if cfg.Time == nil {
		cfg.Time = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	dir, err := newDirectory(context.Background(), cfg.Store, cfg.Crypto, cfg.PollInterval)
	if err != nil {
		return nil, fmt.Errorf("kdc: %w", err)
	}
	if cfg.LogonServer == "" {
		cfg.LogonServer = defaultLogonServer()
	}
	k := &KDC{cfg: cfg, dir: dir}
	if k.pkinit, err = newPKINIT(cfg.PKINIT); err != nil {
		dir.close()
		return nil, err
	}
	k.realm = dir.realm.Load().Name
	k.krbtgtName = "krbtgt/" + k.realm
	k.krbtgtKey = strings.ToLower(k.krbtgtName)
	k.krbtgtAt = k.krbtgtName + "@" + k.realm
	k.known = []string{k.realm, krbtgtName}
	return k, nil
}

// krbtgt returns the realm's ticket-granting service principal.
func (k *KDC) krbtgt(ctx context.Context) (*principal, error) {
	p, err := k.dir.lookup(ctx, k.krbtgtName)
	if err != nil {
		return nil, fmt.Errorf("krbtgt account: %w", err)
	}
	return p, nil
}

// Realm returns the realm the KDC serves.
func (k *KDC) Realm() string { return k.realm }

// Close stops the principal cache's poller.
func (k *KDC) Close() error {
	k.dir.close()
	return nil
}

// Refresh makes the KDC see store changes now rather than at the next
// poll (used after in-process admin changes and by tests).
func (k *KDC) Refresh(ctx context.Context) { k.dir.refresh(ctx) }

// Result describes one handled request, for the daemon's log line.
type Result struct {
	Op     string // "AS", "TGS" or "?" for undecodable input
	Client string // principal@REALM as requested, "" if unknown
	Server string // service principal as requested
	Code   krb5.ErrorCode
	Reason string // what went wrong, as sent in e-text ("" on success)
	// Detail is what only the log may see (e.g. which of unknown user or
	// wrong password); never a secret.
	Detail string
	EType  krb5.EncType // session key enctype on success
	// FAST is set when the request was FAST-armored (RFC 6113) and the
	// tunnel opened; ArmorClient names the client of an AP-REQ armor's
	// TGT (the computer, "WS01$@REALM"), "" for implicit TGS armor.
	FAST        bool
	ArmorClient string
}

// OK reports whether the request was answered with a ticket.
func (r Result) OK() bool { return r.Code == 0 }

func (k *KDC) realmParams() (maxLife, maxRenew time.Duration, policy store.PasswordPolicy, fastRequired bool) {
	r := k.dir.realm.Load()
	maxLife, maxRenew = r.MaxLife, r.MaxRenew
	if maxLife <= 0 {
		maxLife = DefaultMaxLife
	}
	if maxRenew <= 0 {
		maxRenew = DefaultMaxRenew
	}
	return maxLife, maxRenew, r.Policy, r.FASTRequired
}

// Handle answers one request. It returns the reply to send (a KDC-REP or
// a KRB-ERROR) or nil when the input is not worth answering (not a
// Kerberos request at all), and a Result for the log. req is only read,
// and only during the call (as in AppendHandle).
func (k *KDC) Handle(ctx context.Context, req []byte) ([]byte, Result) {
	return k.AppendHandle(ctx, nil, req)
}

// AppendHandle is Handle appending the reply to dst, so that a server
// reusing its buffers makes no garbage of the replies: most of what a
// request allocates otherwise, and what sets how often the collector
// runs. With nothing to answer it returns dst unchanged.
//
// The request is decoded in place: req must not change until AppendHandle
// returns, and nothing the KDC keeps afterwards points into it (see
// exchangeMem), so the caller may then reuse it.
func (k *KDC) AppendHandle(ctx context.Context, dst, req []byte) ([]byte, Result) {
	now := k.cfg.Time()
	t, ok := krb5.MessageType(req)
	if !ok || (t != krb5.MsgASReq && t != krb5.MsgTGSReq) {
		return dst, Result{Op: "?", Code: krb5.KRBErrGeneric, Reason: "not a KDC request"}
	}
	m := exchangeMems.Get().(*exchangeMem)
	defer m.release()
	r := &m.req
	m.reqMem.Known = k.known
	if err := r.UnmarshalMem(req, &m.reqMem); err != nil {
		res := Result{Op: opName(t), Code: krb5.KRBErrGeneric, Reason: "malformed request", Detail: err.Error()}
		return append(dst, k.errorReply(now, &krb5.Error{Code: krb5.KRBErrGeneric, Reason: "malformed request"}, nil, k.tgsName())...), res
	}
	x := &exchange{k: k, ctx: ctx, now: now, req: r, out: dst, mem: m}
	x.res.Op = opName(t)
	x.nameInResult()
	var reply []byte
	var err error
	if t == krb5.MsgASReq {
		reply, err = x.as()
	} else {
		reply, err = x.tgs()
	}
	if err != nil {
		var ke *krb5.Error
		if !errors.As(err, &ke) {
			ke = &krb5.Error{Code: krb5.KRBErrGeneric, Reason: "internal error", Err: err}
		}
		x.res.Code, x.res.Reason = ke.Code, ke.Reason
		if ke.Err != nil {
			x.res.Detail = ke.Err.Error()
		}
		sname := k.tgsName()
		if x.req.ReqBody.SName != nil {
			sname = *x.req.ReqBody.SName
		}
		if x.fast != nil {
			return append(dst, x.fastErrorReply(ke, sname)...), x.res
		}
		edata := x.typedData
		if x.hints != nil {
			// A copy: Marshal's pointer receiver would move x to the heap.
			hints := x.hints
			edata, _ = hints.Marshal()
		}
		return append(dst, k.errorReplyData(now, ke, x.errCName(), sname, edata)...), x.res
	}
	if !x.appended {
		reply = append(dst, reply...)
	}
	return reply, x.res
}

func opName(t krb5.MsgType) string {
	if t == krb5.MsgASReq {
		return "AS"
	}
	return "TGS"
}

// nameInResult names the request's server and client (when it has one)
// in the Result; a FAST request's inner body renames them (fast.go).
func (x *exchange) nameInResult() {
	body := &x.req.ReqBody
	if n := body.SName; n != nil && len(n.NameString) == 2 && n.NameString[0] == krbtgtName &&
		n.NameString[1] == x.k.realm && body.Realm == x.k.realm {
		x.res.Server = x.k.krbtgtAt
	} else {
		x.res.Server = nameAt(body.SName, body.Realm)
	}
	if body.CName != nil {
		x.res.Client = nameAt(body.CName, body.Realm)
	}
}

// nameAt is "a/b@REALM", made in one allocation: it names the client and
// the server of every request in its Result.
func nameAt(n *krb5.PrincipalName, realm string) string {
	if n == nil {
		return ""
	}
	size := len(realm) + len(n.NameString) // a '/' or the '@' after each
	for _, c := range n.NameString {
		size += len(c)
	}
	var b strings.Builder
	b.Grow(size)
	for i, c := range n.NameString {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(c)
	}
	b.WriteByte('@')
	b.WriteString(realm)
	return b.String()
}

func (k *KDC) tgsName() krb5.PrincipalName {
	return krb5.PrincipalName{NameType: krb5.NameTypeSrvInst, NameString: []string{"krbtgt", k.realm}}
}

func (k *KDC) errorReply(now time.Time, err *krb5.Error, cname *krb5.PrincipalName, sname krb5.PrincipalName) []byte {
	return k.errorReplyData(now, err, cname, sname, nil)
}

func (k *KDC) errorReplyData(now time.Time, err *krb5.Error, cname *krb5.PrincipalName, sname krb5.PrincipalName, edata []byte) []byte {
	ke := krb5.NewKRBError(err, now, k.realm, sname)
	if cname != nil {
		ke.CName, ke.CRealm = cname, k.realm
	}
	ke.EData = edata
	b, _ := ke.Marshal()
	return b
}

// exchange is the state of one request being answered.
type exchange struct {
	k   *KDC
	ctx context.Context
	now time.Time
	req *krb5.KDCReq
	res Result
	// hints is the METHOD-DATA a refusal carries: e-data of a plain
	// KRB-ERROR, padata of the KrbFastResponse under FAST.
	hints krb5.MethodData
	// typedData is a refusal's e-data when it is TYPED-DATA rather
	// than METHOD-DATA (PKINIT's TD-DH-PARAMETERS).
	typedData []byte
	// fast is the open FAST tunnel of an armored request (fast.go).
	fast  *fastState
	cname *krb5.PrincipalName
	// tgtPACAttrs are the PAC_ATTRIBUTES_INFO flags reply writes into a
	// TGT PAC made from a template (ticket.tgtPACTemplate). Kept here
	// rather than on the ticket, which they would push into a larger
	// allocation size class.
	tgtPACAttrs uint32
	// out is where reply appends the KDC-REP (AppendHandle's dst), and
	// appended says it did.
	out      []byte
	appended bool
	// mem holds the request's, ticket's and reply's structures.
	mem *exchangeMem
}

// exchangeMem is the memory of the structures every exchange fills: the
// decoded request, the ticket and the reply's two parts. The codec's
// interface calls move them to the heap, and at about 1.2 KB they were
// nearly half of what a request allocated, so they are pooled. Nothing
// outlives the exchange that points into them, nor into the request's
// bytes, which the request is decoded from in place (AppendHandle): what
// the KDC keeps across requests (PAC templates, verified PACs, cached
// certificates' digests, lookaside replies) is copied or decoded from
// freshly decrypted data, and decoded strings are copies. release zeroes
// the memory before it goes back, so that no request ever sees another's
// data.
type exchangeMem struct {
	req krb5.KDCReq
	// reqMem holds req's padata list, names and enctypes.
	reqMem krb5.ReqMem
	tkt    ticket
	part   krb5.EncKDCRepPart
	rep    krb5.KDCRep
	// lastReq backs part.LastReq.
	lastReq [1]krb5.LastReqEntry
	// asPAData and etypeInfo back an AS-REP's PA-ETYPE-INFO2
	// (exchange.replyETypeInfo).
	asPAData  [1]krb5.PAData
	etypeInfo [128]byte
	// timestamp holds a decrypted PA-ENC-TIMESTAMP.
	timestamp [64]byte
	// enc encodes the ticket, the reply part and the reply.
	enc der.Encoder
	// prefetch is prefetchAS's scratch block, and the sum of what it
	// read (kept, so that the reads are not optimised away).
	prefetch    [16]byte
	prefetchSum byte
	// tktUsed and partUsed say the ticket and the reply parts are
	// taken; an exchange that needs a second gets its own.
	tktUsed, partUsed bool
}

var exchangeMems = sync.Pool{New: func() any { return new(exchangeMem) }}

func (m *exchangeMem) release() {
	*m = exchangeMem{}
	exchangeMems.Put(m)
}

// ticketMem returns zeroed memory for the exchange's ticket.
func (x *exchange) ticketMem() *ticket {
	if x.mem.tktUsed {
		return new(ticket)
	}
	x.mem.tktUsed = true
	return &x.mem.tkt
}

// replyMem returns zeroed memory for the reply's encrypted part, the
// KDC-REP around it and the one LastReq entry.
func (x *exchange) replyMem() (*krb5.EncKDCRepPart, *krb5.KDCRep, []krb5.LastReqEntry) {
	if x.mem.partUsed {
		return new(krb5.EncKDCRepPart), new(krb5.KDCRep), make([]krb5.LastReqEntry, 1)
	}
	x.mem.partUsed = true
	return &x.mem.part, &x.mem.rep, x.mem.lastReq[:]
}

func (x *exchange) errCName() *krb5.PrincipalName {
	if x.cname != nil {
		return x.cname
	}
	return x.req.ReqBody.CName
}

// sameRealm compares realm names the way clients type them: case-insensitively.
func (k *KDC) sameRealm(r string) bool { return strings.EqualFold(r, k.realm) }
