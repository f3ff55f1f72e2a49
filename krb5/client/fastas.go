package client

import (
	"context"
	"fmt"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// maxFASTRounds bounds one armored AS conversation: the first request,
// the one with the encrypted challenge, and the few more a KDC may ask
// for (KDC_ERR_MORE_PREAUTH_DATA_REQUIRED with a cookie, or a restart
// after KDC_ERR_PREAUTH_EXPIRED). A KDC asking for more is refused rather
// than followed for ever.
const maxFASTRounds = 5

// armoredAS runs an AS exchange armored with FAST (RFC 6113 5.4), the
// way MIT's kinit -T does: the first request carries no
// pre-authentication; the KDC answers KDC_ERR_PREAUTH_REQUIRED inside the
// armor with PA-ETYPE-INFO2, a PA-ENCRYPTED-CHALLENGE hint and usually a
// PA-FX-COOKIE; the second request proves the key with
// PA-ENCRYPTED-CHALLENGE and echoes the cookie. Every message uses a
// fresh nonce; the armor key (one AP-REQ subkey) stays the same for the
// whole conversation, since the KDC's cookie may be bound to it.
//
// Because the password is only ever used inside the armor, an observer
// of the exchange learns nothing to guess it from, and the KDC's errors
// (wrong password, clock skew) arrive protected. A KDC answer without
// valid FAST protection is refused (ErrFASTDowngrade).
func (c *Client) armoredAS(ctx context.Context, st *asState) (*Credentials, error) {
	a, err := c.apArmor(st.opts.Armor, st.realm)
	if err != nil {
		return nil, err
	}
	var (
		hints      krb5.MethodData // padata of the KDC's last FAST error
		preauthKey *kcrypto.Key
		preauthS2K s2kInput
		restarted  bool
	)
	for range maxFASTRounds {
		nonce, err := c.nonce()
		if err != nil {
			return nil, err
		}
		now := c.now()
		req := c.newASReq(st.cname, st.realm, st.offered, st.opts, now, nonce)
		if preauthKey != nil {
			ch, err := encChallenge(a, preauthKey, now, c.cfg.Rand)
			if err != nil {
				return nil, err
			}
			req.PAData = append(krb5.MethodData{ch}, req.PAData...)
		}
		if cookie, ok := hints.Find(krb5.PAFXCookie); ok {
			req.PAData = append(req.PAData, krb5.FXCookiePAData(cookie.Value))
		}
		body, err := req.ReqBody.Marshal()
		if err != nil {
			return nil, err
		}
		out, err := a.wrap(c.cfg.Rand, req, body)
		if err != nil {
			return nil, err
		}
		rep, ke, err := c.roundTrip(ctx, st.realm, out, krb5.MsgASRep)
		if err != nil {
			return nil, err
		}
		if ke == nil {
			return c.finishArmoredAS(st, a, req, rep, preauthKey, preauthS2K)
		}
		inner, md, err := a.openError(ke, nonce)
		if err != nil {
			return nil, err
		}
		switch inner.ErrorCode {
		case krb5.KDCErrPreauthRequired, krb5.KDCErrMorePreauthDataRequired:
			if preauthKey != nil {
				// Encrypted challenge takes one round: asked again, the
				// KDC did not take it.
				return nil, asRefused(inner, st.errContext(c.now()))
			}
			if _, ok := md.Find(krb5.PAEncryptedChallenge); !ok {
				return nil, &krb5.Error{Code: inner.ErrorCode,
					Reason: fmt.Sprintf("the KDC asks %s for pre-authentication inside FAST but not by encrypted challenge (it offers %s)", st.who, paTypeWords(md)),
					Hint:   "this client proves the password inside FAST with encrypted challenge (RFC 6113 5.4.6) only; PKINIT or OTP accounts need another client"}
			}
			if preauthS2K, err = chooseS2K(md, st.offered, st.cname, st.realm); err != nil {
				return nil, err
			}
			if preauthKey, err = st.keys.key(st.cname, st.realm, preauthS2K, 0, c.cfg.Options); err != nil {
				return nil, err
			}
			hints = md
		case krb5.KDCErrPreauthExpired:
			// The KDC's cookie went stale between two rounds: start the
			// conversation once more from the beginning.
			if restarted {
				return nil, asRefused(inner, st.errContext(c.now()))
			}
			restarted, hints, preauthKey = true, nil, nil
		default:
			return nil, asRefused(inner, st.errContext(c.now()))
		}
	}
	return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed,
		Reason: fmt.Sprintf("the KDC kept asking %s for more pre-authentication (%d armored requests sent)", st.who, maxFASTRounds),
		Hint:   "the KDC wants a pre-authentication method this client does not complete; check the account's pre-authentication settings"}
}

// finishArmoredAS checks the FAST protection of the AS reply to req,
// then the KDC's encrypted challenge (when the client sent one), and
// decrypts the reply in the reply key strengthened by the KDC's
// strengthen key.
func (c *Client) finishArmoredAS(st *asState, a *armor, req *krb5.KDCReq, rep *krb5.KDCRep, preauthKey *kcrypto.Key, preauthS2K s2kInput) (*Credentials, error) {
	resp, err := a.openReply(rep, req.ReqBody.Nonce)
	if err != nil {
		return nil, err
	}
	if preauthKey != nil {
		if err := checkKDCChallenge(a, preauthKey, rep.PAData, c.now(), c.cfg.MaxSkew); err != nil {
			return nil, err
		}
	}
	longTerm, err := c.asReplyKey(st, rep, preauthKey, preauthS2K)
	if err != nil {
		return nil, err
	}
	key, err := strengthen(resp, longTerm, c.cfg.Options)
	if err != nil {
		return nil, err
	}
	cr, _, err := c.finishAS(st, req, rep, key, preauthKey != nil)
	if err != nil {
		return nil, err
	}
	cr.FAST, cr.FASTOffered = true, true
	return cr, nil
}
