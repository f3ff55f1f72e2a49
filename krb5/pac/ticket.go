package pac

import (
	"fmt"

	"github.com/warden-auth/warden/krb5"
)

// ADEntry returns the authorization-data element that carries a PAC in a
// ticket: AD-IF-RELEVANT containing one AD-WIN2K-PAC element (pac.md §1).
// Put it first in the ticket's authorization-data, as WithPAC does.
func ADEntry(pac []byte) krb5.ADEntry {
	return krb5.WrapADIfRelevant(krb5.AuthorizationData{{Type: krb5.ADWin2KPAC, Data: pac}})
}

// FromAuthorizationData returns the PAC bytes from a ticket's
// authorization-data and whether there is one. The PAC must sit inside
// an AD-IF-RELEVANT container (MS-KILE 3.3.5.6.4); a bare AD-WIN2K-PAC
// element or a second PAC is an error, so that an extra PAC (for example
// one a client slipped into enc-authorization-data) can never be taken
// instead of the KDC's.
func FromAuthorizationData(ad krb5.AuthorizationData) ([]byte, bool, error) {
	for _, e := range ad {
		if e.Type == krb5.ADWin2KPAC {
			return nil, false, &Error{Kind: KindMalformed, Offset: -1,
				Reason: "ticket holds an AD-WIN2K-PAC element outside AD-IF-RELEVANT"}
		}
	}
	all, err := krb5.FindAD(ad, krb5.ADWin2KPAC)
	if err != nil {
		return nil, false, &Error{Kind: KindMalformed, Offset: -1, Reason: "ticket authorization-data is malformed", Err: err}
	}
	switch len(all) {
	case 0:
		return nil, false, nil
	case 1:
		return all[0].Data, true, nil
	}
	return nil, false, &Error{Kind: KindMalformed, Offset: -1,
		Reason: fmt.Sprintf("ticket holds %d PACs, at most one is allowed", len(all))}
}

// FromTicket decodes the PAC of a decrypted ticket; (nil, nil) when the
// ticket has none.
func FromTicket(etp *krb5.EncTicketPart) (*PAC, error) {
	b, ok, err := FromAuthorizationData(etp.AuthorizationData)
	if err != nil || !ok {
		return nil, err
	}
	return Decode(b)
}

// WithPAC returns ad with the PAC container first and any PAC already in
// ad removed (a container left empty is dropped), leaving ad unchanged.
func WithPAC(ad krb5.AuthorizationData, pac []byte) (krb5.AuthorizationData, error) {
	out, err := appendWithoutPAC(make(krb5.AuthorizationData, 1, len(ad)+1), ad)
	if err != nil {
		return nil, err
	}
	out[0] = ADEntry(pac)
	return out, nil
}

// WithoutPAC returns ad with any PAC removed as WithPAC removes it (a
// container left empty is dropped), leaving ad unchanged; nil when
// nothing remains.
func WithoutPAC(ad krb5.AuthorizationData) (krb5.AuthorizationData, error) {
	return appendWithoutPAC(nil, ad)
}

// appendWithoutPAC appends to out the elements of ad that are not a PAC,
// opening the top-level AD-IF-RELEVANT containers to drop the PACs
// inside them.
func appendWithoutPAC(out, ad krb5.AuthorizationData) (krb5.AuthorizationData, error) {
	for _, e := range ad {
		switch e.Type {
		case krb5.ADWin2KPAC:
			continue
		case krb5.ADIfRelevant:
			inner, err := krb5.UnwrapADIfRelevant(e)
			if err != nil {
				return nil, &Error{Kind: KindMalformed, Offset: -1, Reason: "ticket authorization-data is malformed", Err: err}
			}
			kept := inner[:0:0]
			for _, x := range inner {
				if x.Type != krb5.ADWin2KPAC {
					kept = append(kept, x)
				}
			}
			switch {
			case len(kept) == len(inner):
				out = append(out, e)
			case len(kept) > 0:
				out = append(out, krb5.WrapADIfRelevant(kept))
			}
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// TicketSignatureInput returns what the ticket signature covers (MS-PAC
// 2.8.3): the DER of etp with the ad-data of its PAC element replaced by
// the single byte 0x00, everything else (the PAC's position, other
// elements of its container, other authorization data) unchanged. etp
// itself is not modified. The PAC must be in an AD-IF-RELEVANT container
// at the top level of the authorization-data, as WithPAC puts it.
func TicketSignatureInput(etp *krb5.EncTicketPart) ([]byte, error) {
	ad := make(krb5.AuthorizationData, len(etp.AuthorizationData))
	copy(ad, etp.AuthorizationData)
	found := 0
	for i, e := range ad {
		if e.Type == krb5.ADWin2KPAC {
			return nil, &Error{Kind: KindMalformed, Offset: -1,
				Reason: "ticket holds an AD-WIN2K-PAC element outside AD-IF-RELEVANT"}
		}
		if e.Type != krb5.ADIfRelevant {
			continue
		}
		inner, err := krb5.UnwrapADIfRelevant(e)
		if err != nil {
			return nil, &Error{Kind: KindMalformed, Offset: -1, Reason: "ticket authorization-data is malformed", Err: err}
		}
		hit := false
		for j, x := range inner {
			if x.Type == krb5.ADWin2KPAC {
				inner[j].Data = []byte{0}
				hit = true
				found++
			}
		}
		if hit {
			ad[i] = krb5.WrapADIfRelevant(inner)
		}
	}
	switch {
	case found == 0:
		return nil, &Error{Kind: KindMissing, Buffer: TypeTicketChecksum, Offset: -1,
			Reason: "ticket has no PAC element in AD-IF-RELEVANT for the ticket signature to cover",
			Hint:   "add the PAC element (pac.WithPAC with any content) before signing"}
	case found > 1:
		return nil, &Error{Kind: KindMalformed, Offset: -1, Reason: fmt.Sprintf("ticket holds %d PACs, at most one is allowed", found)}
	}
	t := *etp
	t.AuthorizationData = ad
	t.Raw = nil
	b, err := t.Marshal()
	if err != nil {
		return nil, &Error{Kind: KindMalformed, Offset: -1, Reason: "cannot encode the EncTicketPart for the ticket signature", Err: err}
	}
	return b, nil
}
