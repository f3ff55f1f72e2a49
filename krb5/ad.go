package krb5

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// AuthorizationData helpers (RFC 4120 5.2.6). AuthorizationData itself
// (types.go) decodes one level only; containers keep their nested
// AuthorizationData as bytes. These helpers open containers on demand,
// with a fixed nesting limit so that hostile input cannot make a search
// recurse without bound.

// ADMaxDepth is how many AD-IF-RELEVANT containers FindAD opens inside
// one another. Real senders nest one level (Windows puts its PAC and
// restrictions in a single AD-IF-RELEVANT); anything beyond this limit is
// reported as malformed rather than searched.
const ADMaxDepth = 4

// WrapADIfRelevant returns an AD-IF-RELEVANT element whose ad-data is the
// DER of inner. Receivers that do not understand an element inside it
// ignore that element instead of rejecting the ticket (RFC 4120 5.2.6.1).
func WrapADIfRelevant(inner AuthorizationData) ADEntry {
	b, _ := inner.Marshal()
	return ADEntry{Type: ADIfRelevant, Data: b}
}

// UnwrapADIfRelevant decodes the AuthorizationData inside an
// AD-IF-RELEVANT element; any other ad-type is an error.
func UnwrapADIfRelevant(e ADEntry) (AuthorizationData, error) {
	if e.Type != ADIfRelevant {
		return nil, malformed("AD-IF-RELEVANT", "ad-type "+e.Type.String())
	}
	var ad AuthorizationData
	if err := ad.Unmarshal(e.Data); err != nil {
		return nil, malformed("AD-IF-RELEVANT", "ad-data")
	}
	return ad, nil
}

// FindAD returns, in order of appearance, every element of type t in ad
// or inside its AD-IF-RELEVANT containers (depth-first, at most ADMaxDepth
// containers deep). Elements of other containers (AD-KDC-ISSUED,
// AD-AND-OR) are not searched: their contents only count after the
// caller verifies or evaluates the container. A malformed container, or
// nesting deeper than ADMaxDepth, yields a *ParseError.
func FindAD(ad AuthorizationData, t ADType) ([]ADEntry, error) {
	var out []ADEntry
	err := adFind(ad, t, 0, &out)
	return out, err
}

func adFind(ad AuthorizationData, t ADType, depth int, out *[]ADEntry) error {
	for _, e := range ad {
		if e.Type == t {
			*out = append(*out, e)
		}
		if e.Type != ADIfRelevant {
			continue
		}
		if depth >= ADMaxDepth {
			return malformed("AD-IF-RELEVANT", "nested deeper than the limit")
		}
		inner, err := UnwrapADIfRelevant(e)
		if err != nil {
			return err
		}
		if err := adFind(inner, t, depth+1, out); err != nil {
			return err
		}
	}
	return nil
}

// FindFirstAD is FindAD returning only the first match.
func FindFirstAD(ad AuthorizationData, t ADType) (ADEntry, bool, error) {
	all, err := FindAD(ad, t)
	if err != nil || len(all) == 0 {
		return ADEntry{}, false, err
	}
	return all[0], true, nil
}

// KDCIssuedAD is the ad-data of an AD-KDC-ISSUED element (RFC 4120
// 5.2.6.2): elements the KDC vouches for with ADChecksum, computed over the
// DER of Elements with the ticket's session key (usage 19). IRealm and
// ISName name the issuer when it is not the ticket's own KDC; "" and nil
// are absent.
//
// ElementsRaw keeps the elements' bytes as decoded, since the checksum
// covers them exactly as sent; encoding always writes Elements.
type KDCIssuedAD struct {
	ADChecksum  Checksum
	IRealm      string
	ISName      *PrincipalName
	Elements    AuthorizationData
	ElementsRaw []byte
}

func (a *KDCIssuedAD) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicit(e, 0, &a.ADChecksum)
	if a.IRealm != "" {
		kmsgExplicitString(e, 1, a.IRealm)
	}
	if a.ISName != nil {
		kmsgExplicit(e, 2, a.ISName)
	}
	kmsgExplicit(e, 3, &a.Elements)
	e.Close(seq)
}

func (a *KDCIssuedAD) decode(s *cryptobyte.String) error {
	const typ = "AD-KDC-ISSUED"
	var seq, f cryptobyte.String
	var err error
	*a = KDCIssuedAD{}
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if err = kmsgField(&seq, 0, &a.ADChecksum, typ, "ad-checksum"); err != nil {
		return err
	}
	if err = kmsgOptRealm(&seq, 1, &a.IRealm, typ, "i-realm"); err != nil {
		return err
	}
	if a.ISName, err = kmsgOptPrincipal(&seq, 2, typ, "i-sname"); err != nil {
		return err
	}
	if !der.ReadExplicit(&seq, 3, &f) {
		return malformed(typ, "elements")
	}
	raw := f
	a.Elements = AuthorizationData{}
	if err = a.Elements.decode(&f); err != nil {
		return err
	}
	if !f.Empty() || !seq.Empty() {
		return malformed(typ, "elements")
	}
	a.ElementsRaw = raw
	return nil
}

// Marshal returns the DER encoding.
func (a *KDCIssuedAD) Marshal() ([]byte, error) { return marshal(a, 256), nil }

// Unmarshal decodes DER; ElementsRaw holds the checksummed bytes.
func (a *KDCIssuedAD) Unmarshal(b []byte) error { return unmarshal(b, a, "AD-KDC-ISSUED") }
