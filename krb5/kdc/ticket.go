package kdc

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

// krbtgtName is the sAMAccountName of the realm's ticket-granting service.
const krbtgtName = "krbtgt"

// farFuture stands for "no limit" in lifetime arithmetic.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// lookupServer resolves the service a request names.
func (x *exchange) lookupServer(sname *krb5.PrincipalName) (*principal, error) {
	var p *principal
	var err error
	if len(sname.NameString) == 2 && strings.EqualFold(sname.NameString[0], "krbtgt") {
		if !x.k.sameRealm(sname.NameString[1]) {
			return nil, &krb5.Error{Code: krb5.KDCErrSPrincipalUnknown,
				Reason: fmt.Sprintf("no trust with realm %s: this KDC serves %s only", sname.NameString[1], x.k.realm),
				Hint:   "cross-realm trust is not supported"}
		}
		// The TGS, named in every AS-REQ: by its kept key, without
		// joining and lower-casing the name for each request.
		p, err = x.k.dir.lookupLowered(x.ctx, x.k.krbtgtKey, x.k.krbtgtName)
	} else {
		p, err = x.k.dir.lookup(x.ctx, sname.String())
	}
	if err != nil {
		if isNotFound(err) {
			return nil, errServerUnknown(sname.String() + "@" + x.k.realm)
		}
		return nil, err
	}
	if p.acct.Flags&store.FlagDisabled != 0 {
		return nil, errServiceDisabled(sname.String())
	}
	if len(p.keys()) == 0 {
		return nil, &krb5.Error{Code: krb5.KDCErrNullKey, Reason: "service " + sname.String() + " has no keys",
			Hint: "set a password or random keys for the account"}
	}
	return p, nil
}

// ticketSpec is what a new ticket is made from.
type ticketSpec struct {
	client, server *principal // client may be nil in TGS (it comes from the TGT)
	cname, sname   krb5.PrincipalName
	crealm         string
	sessEType      krb5.EncType
	preauth        bool
	authTime       time.Time
	initial        bool
	tgt            *krb5.EncTicketPart // the TGT of a TGS request
	ad             krb5.AuthorizationData
	caddr          krb5.HostAddresses
}

// ticket is an issued, not yet encrypted ticket.
type ticket struct {
	enc    krb5.EncTicketPart
	sname  krb5.PrincipalName
	crealm string
	srealm string
	server *principal
	// keyExpiration is the client's password expiry, told in AS replies
	// so that clients can warn the user.
	keyExpiration time.Time
	// pac, when set, is signed and put first in the authorization-data
	// by reply, once every other field of the ticket is final.
	pac *pac.PAC
	// pacFrom, for a service ticket issued by the TGS, is the TGT PAC
	// whose buffers its PAC carries; reply signs it through the encoding
	// the TGT PAC keeps.
	pacFrom *tgtPAC
	// noClaims drops the TGT PAC's client claims from a service ticket
	// for a service that does not want them (claimsFor).
	noClaims bool
	// tgtPACTemplate, for a TGT whose PAC comes from the client's
	// template, is that template, which the authorization-data holds
	// unsigned: reply fills in the authtime, the attributes
	// (exchange.tgtPACAttrs) and the signatures once the ticket is
	// encoded (setTGTPAC).
	tgtPACTemplate *pacTemplate
	// keyMem holds the session key's bytes and ad the authorization-data
	// of a TGT made from a template: the ticket lives in the exchange's
	// pooled memory, which is wiped when the exchange ends.
	keyMem [32]byte
	ad     [1]krb5.ADEntry
}

// newTicket applies the request's options within the realm's limits (and
// the TGT's, for TGS) and draws the session key.
func (x *exchange) newTicket(s ticketSpec) (*ticket, error) {
	body := &x.req.ReqBody
	opts := body.KDCOptions
	maxLife, maxRenew, _, _ := x.k.realmParams()

	if opts.Has(krb5.KDCOptPostdated) || opts.Has(krb5.KDCOptAllowPostdate) {
		return nil, &krb5.Error{Code: krb5.KDCErrCannotPostdate, Reason: "postdated tickets are not supported"}
	}
	start := x.now
	if !body.From.IsZero() && body.From.Sub(x.now) > x.k.cfg.MaxSkew {
		return nil, &krb5.Error{Code: krb5.KDCErrCannotPostdate,
			Reason: fmt.Sprintf("requested start time %s is in the future and postdating is not supported", body.From.UTC().Format(time.RFC3339))}
	}
	till := body.Till
	if till.IsZero() || till.Unix() == 0 {
		till = farFuture
	}
	if !till.After(start) {
		return nil, &krb5.Error{Code: krb5.KDCErrNeverValid,
			Reason: fmt.Sprintf("requested end time %s is not after the start time %s", till.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))}
	}
	end := minTime(till, start.Add(maxLife))
	var flags krb5.Flags
	renewTill := time.Time{}
	wantRenew := opts.Has(krb5.KDCOptRenewable) || (opts.Has(krb5.KDCOptRenewableOK) && till.After(end))
	if s.tgt != nil {
		end = minTime(end, s.tgt.EndTime)
		flags |= s.tgt.Flags & (krb5.TktFlagPreAuthent | krb5.TktFlagHWAuthent)
		if opts.Has(krb5.KDCOptForwardable) && s.tgt.Flags.Has(krb5.TktFlagForwardable) {
			flags |= krb5.TktFlagForwardable
		}
		if opts.Has(krb5.KDCOptProxiable) && s.tgt.Flags.Has(krb5.TktFlagProxiable) {
			flags |= krb5.TktFlagProxiable
		}
		wantRenew = wantRenew && s.tgt.Flags.Has(krb5.TktFlagRenewable)
	} else {
		if s.preauth {
			flags |= krb5.TktFlagPreAuthent
		}
		if opts.Has(krb5.KDCOptForwardable) && s.client.acct.Flags&store.FlagNoForward == 0 {
			flags |= krb5.TktFlagForwardable
		}
		if opts.Has(krb5.KDCOptProxiable) && s.client.acct.Flags&store.FlagNoForward == 0 {
			flags |= krb5.TktFlagProxiable
		}
	}
	if s.initial {
		flags |= krb5.TktFlagInitial
	}
	if s.server.acct.Flags&store.FlagOKAsDelegate != 0 {
		flags |= krb5.TktFlagOKAsDelegate
	}
	if wantRenew {
		rt := body.RTime
		if rt.IsZero() || rt.Unix() == 0 {
			rt = farFuture
		}
		if opts.Has(krb5.KDCOptRenewableOK) && !opts.Has(krb5.KDCOptRenewable) {
			rt = till
		}
		rt = minTime(rt, start.Add(maxRenew))
		if s.tgt != nil {
			rt = minTime(rt, s.tgt.RenewTill)
		}
		if rt.After(end) {
			renewTill = rt
			flags |= krb5.TktFlagRenewable
		}
	}

	crealm := s.crealm
	if crealm == "" {
		crealm = x.k.realm
	}
	t := x.ticketMem()
	*t = ticket{
		enc: krb5.EncTicketPart{
			Flags:             flags,
			CRealm:            crealm,
			CName:             s.cname,
			Transited:         krb5.TransitedEncoding{TRType: 1},
			AuthTime:          s.authTime.UTC().Truncate(time.Second),
			StartTime:         start.UTC().Truncate(time.Second),
			EndTime:           end.UTC().Truncate(time.Second),
			RenewTill:         truncTime(renewTill),
			CAddr:             s.caddr,
			AuthorizationData: s.ad,
		},
		sname:  s.sname,
		crealm: body.Realm,
		srealm: body.Realm,
		server: s.server,
	}
	var err error
	if t.enc.Key, err = kcrypto.RandomEncryptionKeyIn(t.keyMem[:0], s.sessEType, x.k.cfg.Rand, x.k.cfg.Crypto); err != nil {
		return nil, err
	}
	return t, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func truncTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

// reply encrypts the ticket under the service's key and the enc-part
// under the reply key, and encodes the KDC-REP.
func (x *exchange) reply(mt krb5.MsgType, t *ticket, replyKey *kcrypto.Key, usage kcrypto.Usage, padata krb5.MethodData) ([]byte, error) {
	if t.pac != nil || t.pacFrom != nil {
		if err := x.signPAC(t); err != nil {
			return nil, err
		}
	}
	// The ticket's and the reply part's encodings and ciphertexts live
	// in one pooled buffer until the reply is encoded.
	bp := replyBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		// It held both plaintexts, session key included.
		clear(buf[:cap(buf)])
		if cap(buf) <= maxReplyBuf {
			*bp = buf[:0]
			replyBufs.Put(bp)
		}
	}()
	sk, _ := t.server.ticketKey()
	buf = t.enc.AppendMarshalWith(&x.mem.enc, buf)
	encTkt := buf
	if tp := t.tgtPACTemplate; tp != nil {
		if err := tp.fill(encTkt, sk.key(), t.enc.AuthTime, x.tgtPACAttrs); err != nil {
			return nil, err
		}
	}
	buf, err := sk.key().AppendEncrypt(buf, x.k.cfg.Rand, kcrypto.UsageTicket, encTkt)
	if err != nil {
		return nil, err
	}
	tktCipher := krb5.EncryptedData{EType: sk.key().EType(), KVNO: sk.kvno, HasKVNO: true, Cipher: buf[len(encTkt):]}
	tkt := krb5.Ticket{TktVNO: krb5.PVNO, Realm: t.srealm, SName: t.sname, EncPart: tktCipher}
	crealm, cname := t.crealm, t.enc.CName
	if x.fast != nil {
		// The FAST finished message checksums the ticket exactly as
		// sent; Raw makes the reply carry those bytes.
		if tkt.Raw, err = ticketDER(tkt); err != nil {
			return nil, err
		}
		if padata, replyKey, err = x.armorReply(tkt.Raw, crealm, cname, replyKey, padata); err != nil {
			return nil, err
		}
		if x.hideClient() {
			crealm, cname = anonymousRealm, anonymousName
		}
	}
	part, rep, lastReq := x.replyMem()
	lastReq[0] = krb5.LastReqEntry{Type: 0, Value: t.enc.AuthTime}
	*part = krb5.EncKDCRepPart{
		Tag:       krb5.MsgEncASRepPart,
		Key:       t.enc.Key,
		LastReq:   lastReq,
		Nonce:     x.req.ReqBody.Nonce,
		Flags:     t.enc.Flags,
		AuthTime:  t.enc.AuthTime,
		StartTime: t.enc.StartTime,
		EndTime:   t.enc.EndTime,
		RenewTill: t.enc.RenewTill,
		SRealm:    t.srealm,
		SName:     t.sname,
		CAddr:     t.enc.CAddr,
	}
	if mt == krb5.MsgTGSRep {
		part.Tag = krb5.MsgEncTGSRepPart
	} else {
		if pe := t.keyExpiration; !pe.IsZero() {
			part.KeyExpiration = pe
		}
		_, encPARep := x.req.PAData.Find(krb5.PAReqEncPARep)
		if encPARep {
			if err := x.encPARep(part, replyKey); err != nil {
				return nil, err
			}
		}
		if isKrbtgt(t.server) && (encPARep || x.fast != nil || x.req.ReqBody.KDCOptions.Has(krb5.KDCOptCanonicalize)) {
			part.EncryptedPAData = append(part.EncryptedPAData, supportedEnctypes(t.server))
		}
	}
	start := len(buf)
	buf = part.AppendMarshalWith(&x.mem.enc, buf)
	plainEnd := len(buf)
	if buf, err = replyKey.AppendEncrypt(buf, x.k.cfg.Rand, usage, buf[start:]); err != nil {
		return nil, err
	}
	encPart := krb5.EncryptedData{EType: replyKey.EType(), Cipher: buf[plainEnd:]}
	*rep = krb5.KDCRep{
		MsgType: mt,
		PAData:  padata,
		CRealm:  crealm,
		CName:   cname,
		Ticket:  tkt,
		EncPart: encPart,
	}
	x.appended = true
	return rep.AppendMarshalWith(&x.mem.enc, x.out), nil
}

// replyBufs holds the working buffers of reply; maxReplyBuf bounds what
// goes back (a reply with a PAC of thousands of groups is let go).
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxReplyBuf = 64 << 10

// ticketDER encodes a ticket. It takes a copy so that reply's own
// ticket, which the unarmored path never encodes alone, stays on the
// stack.
func ticketDER(t krb5.Ticket) ([]byte, error) { return t.Marshal() }
