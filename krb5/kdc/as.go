package kdc

import (
	"slices"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/store"
)

// as answers an AS-REQ (RFC 4120 3.1).
func (x *exchange) as() ([]byte, error) {
	k, body := x.k, &x.req.ReqBody
	// An armored request is answered from its inner request (fast.go);
	// body then points at the inner body.
	fr, armored, err := x.armoredRequest()
	if err != nil {
		return nil, err
	}
	if armored {
		if err := x.unwrapAS(fr); err != nil {
			return nil, err
		}
	}
	if body.CName == nil {
		return nil, errBadOption("AS-REQ without a client name")
	}
	if body.SName == nil {
		return nil, errBadOption("AS-REQ without a service name")
	}
	if !k.sameRealm(body.Realm) {
		return nil, errWrongRealm(body.Realm, k.realm)
	}
	if body.KDCOptions.Has(krb5.KDCOptRequestAnonymous) {
		return x.anonymousAS() // anonymous.go
	}
	cnameStr := body.CName.String()
	client, err := k.dir.lookup(x.ctx, cnameStr)
	if err != nil {
		if isNotFound(err) {
			x.res.Detail = "no such account"
			return nil, errClientUnknown(x.res.Client)
		}
		return nil, err
	}
	if isKrbtgt(client) {
		return nil, errPolicy("krbtgt cannot be a client", "")
	}
	// The reply key: the client's key of the first enctype it listed.
	replyKey, ok := firstKey(client, body.EType)
	x.prefetchAS(client, replyKey)
	server, err := x.lookupServer(body.SName)
	if err != nil {
		return nil, err
	}
	if err := x.checkClientState(client, body.SName); err != nil {
		return nil, err
	}
	if err := x.checkCookie(); err != nil {
		return nil, err
	}
	if x.fast == nil && k.fastRequired(client) {
		// PREAUTH_REQUIRED with PA-FX-FAST is how a KDC asks for armor
		// (MS-KILE 3.3.5.6, RFC 6113 5.4.2): a client holding armor
		// (MIT kinit -T) retries armored, before any key is used.
		x.hints = krb5.MethodData{{Type: krb5.PAFXFast, Value: []byte{}}}
		x.res.Detail = "unarmored AS-REQ for a FAST-required account; told the client to armor it"
		return nil, errFASTRequired()
	}

	// A certificate logon (pkinit.go) needs no key of the account.
	var pk *pkReply
	if pa, found := x.req.PAData.Find(krb5.PAPKASReq); found && k.pkinit != nil {
		if pk, err = x.verifyPKINIT(client, pa.Value); err != nil {
			return nil, err
		}
	} else if !ok {
		return nil, errNoCommonEType(body.EType, "account "+client.acct.Name, client.keyETypes())
	}
	preauth := pk != nil
	if pk != nil {
		// The reply key is the key agreement's; FAST strengthens it
		// with a full KRB-FX-CF2 (no cached PRF+ half).
	} else if pa, ok := x.req.PAData.Find(krb5.PAEncryptedChallenge); ok && x.fast != nil {
		key, err := x.verifyEncChallenge(client, pa.Value)
		if err != nil {
			return nil, err
		}
		replyKey, preauth = key, true
	} else if pa, ok := x.req.PAData.Find(krb5.PAEncTimestamp); ok {
		key, err := x.verifyEncTimestamp(client, pa.Value)
		if err != nil {
			return nil, err
		}
		replyKey, preauth = key, true
	} else if client.acct.Flags&store.FlagPreauthRequired != 0 {
		if x.hints, err = x.preauthHints(client); err != nil {
			return nil, err
		}
		x.res.Detail = "pre-authentication required; told the client how"
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthRequired, Reason: "pre-authentication required"}
	}
	if x.fast != nil && pk == nil {
		// FAST strengthens the long-term reply key with KRB-FX-CF2,
		// whose half from that key is cached on it (fastchallenge.go).
		h, err := replyKey.halves()
		if err != nil {
			return nil, err
		}
		x.fast.replyHalf = h.reply
	}
	if lo := client.lockout.Load(); preauth && lo.BadCount > 0 {
		// A success clears the failure count. Only accounts with failures
		// pay for this write; successful logons otherwise write nothing.
		if err := k.cfg.Store.ResetLockout(x.ctx, client.acct.Name); err == nil {
			client.lockout.Store(&store.Lockout{})
		}
	}

	pacAttrs, err := x.pacAttributes()
	if err != nil {
		return nil, err
	}
	sessETypes := server.etypes()
	sessEType, ok := firstCommon(body.EType, sessETypes)
	if !ok {
		return nil, errNoCommonEType(body.EType, "service "+body.SName.String(), sessETypes)
	}
	t, err := x.newTicket(ticketSpec{
		client: client, server: server,
		cname: *body.CName, sname: *body.SName,
		sessEType: sessEType, preauth: preauth,
		authTime: x.now, initial: true,
	})
	if err != nil {
		return nil, err
	}
	if client.acct.Flags&store.FlagPasswordNeverExpires == 0 {
		t.keyExpiration = truncTime(client.acct.PasswordExpires())
	}
	if body.KDCOptions.Has(krb5.KDCOptCanonicalize) {
		t.crealm, t.srealm = k.realm, k.realm
		if body.CName.NameType == krb5.NameTypeEnterprise {
			t.enc.CName = krb5.NewPrincipalName(krb5.NameTypePrincipal, client.acct.Name)
		}
	}
	// A TGT always carries a PAC; a service ticket unless the client
	// declined it or the service wants none (MS-KILE 3.3.5.3).
	if isKrbtgt(server) {
		// No ticket signature in a TGT: the PAC can be signed now (or,
		// from the client's template, once the ticket is encoded).
		if err := x.setTGTPAC(t, client, server, pacAttrs); err != nil {
			return nil, err
		}
	} else if pacAttrs != 0 && server.acct.Flags&store.FlagNoPAC == 0 {
		t.pac = x.newPAC(client, t.enc.CName, t.enc.AuthTime, pacAttrs, false)
		if x.claimsFor(server) {
			t.pac.ClientClaims = client.claims
		}
	}
	x.res.EType = sessEType
	if pk != nil {
		return x.reply(krb5.MsgASRep, t, pk.key, kcrypto.UsageASRepEncPart, pk.padata)
	}
	var padata krb5.MethodData
	if preauth {
		padata = x.replyETypeInfo(client, replyKey)
	}
	return x.reply(krb5.MsgASRep, t, replyKey.key(), kcrypto.UsageASRepEncPart, padata)
}

// replyETypeInfo is the AS-REP's padata after pre-authentication: the
// PA-ETYPE-INFO2 of the reply key (RFC 4120 5.2.7.5), encoded in the
// exchange's memory, since it is in every AS-REP.
func (x *exchange) replyETypeInfo(client *principal, k *principalKey) krb5.MethodData {
	info := krb5.ETypeInfo2{client.etypeInfo(k)}
	x.mem.asPAData[0] = krb5.PAData{Type: krb5.PAETypeInfo2, Value: info.AppendMarshal(x.mem.etypeInfo[:0])}
	return x.mem.asPAData[:]
}

// firstKey returns the client's key for the first enctype of the
// request's list that the account has a key for.
func firstKey(p *principal, etypes []krb5.EncType) (*principalKey, bool) {
	for _, e := range etypes {
		if k, ok := p.key(e, 0); ok {
			return k, true
		}
	}
	return nil, false
}

// firstCommon picks the first enctype of the client's list that the other
// side supports (RFC 4120 3.1.3: the client's preference order wins).
func firstCommon(client, other []krb5.EncType) (krb5.EncType, bool) {
	for _, e := range client {
		if slices.Contains(other, e) {
			return e, true
		}
	}
	return 0, false
}

// preauthHints is the METHOD-DATA of KDC_ERR_PREAUTH_REQUIRED: how to
// derive each key the client could use, and which methods we accept.
// Unarmored: PA-ENC-TIMESTAMP, and PA-FX-FAST to say that FAST is
// available (MIT kinit -T upgrades to FAST on seeing it). Armored: the
// encrypted challenge and a cookie for the next round (RFC 6113 5.2).
func (x *exchange) preauthHints(client *principal) (krb5.MethodData, error) {
	var info krb5.ETypeInfo2
	for _, e := range x.req.ReqBody.EType {
		if k, ok := client.key(e, 0); ok {
			info = append(info, client.etypeInfo(k))
		}
	}
	if x.fast == nil {
		return x.withPKINITHint(krb5.MethodData{
			info.PAData(),
			{Type: krb5.PAEncTimestamp, Value: []byte{}},
			{Type: krb5.PAFXFast, Value: []byte{}},
		}), nil
	}
	cookie, err := x.newCookie()
	if err != nil {
		return nil, err
	}
	return x.withPKINITHint(krb5.MethodData{
		info.PAData(),
		{Type: krb5.PAEncryptedChallenge, Value: []byte{}},
		cookie,
	}), nil
}

// verifyEncTimestamp checks PA-ENC-TIMESTAMP and returns the key it was
// made with, which becomes the reply key.
func (x *exchange) verifyEncTimestamp(client *principal, value []byte) (*principalKey, error) {
	// value is part of the request, decoded in place (AppendHandle).
	var ed krb5.EncryptedData
	if err := ed.UnmarshalAliasing(value); err != nil {
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed, Reason: "malformed PA-ENC-TIMESTAMP", Err: err}
	}
	key, ok := client.key(ed.EType, 0)
	if !ok {
		return nil, errNoCommonEType([]krb5.EncType{ed.EType}, "account "+client.acct.Name, client.keyETypes())
	}
	// client.key matched the enctype; the plaintext (a timestamp) fits
	// in the exchange's memory (a stack buffer would escape through the
	// cipher's interface).
	plain, err := key.key().AppendDecrypt(x.mem.timestamp[:0], kcrypto.UsageASReqPAEncTimestamp, ed.Cipher)
	if err != nil {
		x.res.Detail = "wrong password"
		x.recordFailure(client)
		return nil, errPreauthFailed(x.res.Client)
	}
	var ts krb5.PAEncTSEnc
	if err := ts.UnmarshalAliasing(plain); err != nil {
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed, Reason: "malformed PA-ENC-TS-ENC", Err: err}
	}
	if err := x.checkSkew(ts.Time(), ""); err != nil {
		return nil, err
	}
	return key, nil
}

// recordFailure counts a wrong password; the write is synchronous so
// that lockout holds across a crash and across AA nodes.
func (x *exchange) recordFailure(client *principal) {
	_, _, policy, _ := x.k.realmParams()
	lo, err := x.k.cfg.Store.RecordLogonFailure(x.ctx, client.acct.Name, x.now, policy)
	if err == nil {
		client.lockout.Store(&lo)
	}
}

// checkClientState refuses disabled, locked and expired accounts.
func (x *exchange) checkClientState(client *principal, sname *krb5.PrincipalName) error {
	a := &client.acct
	name := x.res.Client
	if a.Flags&store.FlagDisabled != 0 {
		return errDisabled(name)
	}
	if lo := client.lockout.Load(); lo.Locked(x.now) {
		return errLocked(name, lo.LockedUntil)
	}
	if e := a.AccountExpires(); !e.IsZero() && !x.now.Before(e) {
		return errAccountExpired(name, e)
	}
	if pe := a.PasswordExpires(); !pe.IsZero() && !x.now.Before(pe) && a.Flags&store.FlagPasswordNeverExpires == 0 {
		// Only the password-changing service may be reached with an
		// expired password.
		if !isChangepw(*sname) {
			return errPasswordExpired(name, pe)
		}
	}
	return nil
}

// prefetchAS starts loading what the AS exchange will read of the
// client's records besides the principal itself: its TGT PAC template
// and its reply key's cached schedules. With many accounts these are in
// main memory, not the CPU caches, each an object of its own; read where
// they are used, each would be a wait of its own, with work in between.
// Asked for here, together, their waits overlap. (In-engine, with a
// 100,000-account realm, this made an AS 1-6% faster over four runs that
// switched it on and off every 100,000 requests; with 1,000 accounts it
// changed nothing measurable.)
func (x *exchange) prefetchAS(client *principal, pk *principalKey) {
	var sum byte
	if tp := client.tgtPAC.Load(); tp != nil {
		for i := 0; i < len(tp.adData); i += 64 {
			sum += tp.adData[i]
		}
	}
	x.mem.prefetchSum = sum
	if pk != nil {
		if kk := pk.kk.Load(); kk != nil {
			kk.Prefetch(x.mem.prefetch[:], kcrypto.UsageASReqPAEncTimestamp, kcrypto.UsageASRepEncPart)
		}
	}
}
