package krb5

import (
	"errors"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// KRBError is KRB-ERROR ([APPLICATION 30]), how a KDC or server tells a
// peer why it refused. EText carries the human reason; EData carries
// machine-readable hints (METHOD-DATA for PREAUTH_REQUIRED, KERB-ERROR-DATA
// for Windows extended errors).
type KRBError struct {
	CTime     time.Time // zero: absent
	CUSec     int32
	HasCUSec  bool
	STime     time.Time
	SUSec     int32
	ErrorCode ErrorCode
	CRealm    string         // "": absent
	CName     *PrincipalName // nil: absent
	Realm     string
	SName     PrincipalName
	EText     string
	HasEText  bool
	EData     []byte // nil: absent
}

func (k *KRBError) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgKRBError)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, PVNO)
	kmsgExplicitInt(e, 1, int64(MsgKRBError))
	if !k.CTime.IsZero() {
		kmsgExplicitTime(e, 2, k.CTime)
	}
	if k.HasCUSec {
		kmsgExplicitInt(e, 3, int64(k.CUSec))
	}
	kmsgExplicitTime(e, 4, k.STime)
	kmsgExplicitInt(e, 5, int64(k.SUSec))
	kmsgExplicitInt(e, 6, int64(k.ErrorCode))
	if k.CRealm != "" {
		kmsgExplicitString(e, 7, k.CRealm)
	}
	if k.CName != nil {
		kmsgExplicit(e, 8, k.CName)
	}
	kmsgExplicitString(e, 9, k.Realm)
	kmsgExplicit(e, 10, &k.SName)
	if k.HasEText {
		kmsgExplicitString(e, 11, k.EText)
	}
	if k.EData != nil {
		kmsgExplicitOctets(e, 12, k.EData)
	}
	e.Close(seq)
	e.Close(app)
}

func (k *KRBError) decode(s *cryptobyte.String) error {
	const typ = "KRB-ERROR"
	var seq, f cryptobyte.String
	if err := kmsgOpenApp(s, MsgKRBError, typ, &seq); err != nil {
		return err
	}
	if err := kmsgHeader(&seq, typ, MsgKRBError); err != nil {
		return err
	}
	*k = KRBError{}
	if err := kmsgOptTime(&seq, 2, &k.CTime, typ, "ctime"); err != nil {
		return err
	}
	if err := kmsgOptUsec(&seq, 3, &k.CUSec, &k.HasCUSec, typ, "cusec"); err != nil {
		return err
	}
	if err := readTimeField(&seq, 4, &k.STime, typ, "stime"); err != nil {
		return err
	}
	if err := kmsgUsec(&seq, 5, &k.SUSec, typ, "susec"); err != nil {
		return err
	}
	var code int32
	if err := readInt32Field(&seq, 6, &code, typ, "error-code"); err != nil {
		return err
	}
	k.ErrorCode = ErrorCode(code)
	var ok bool
	if !der.ReadOptionalExplicit(&seq, 7, &f, &ok) || ok && (!der.ReadGeneralString(&f, &k.CRealm) || !f.Empty() || k.CRealm == "") {
		return malformed(typ, "crealm")
	}
	var cn PrincipalName
	if has, err := kmsgOptField(&seq, 8, &cn, typ, "cname"); err != nil {
		return err
	} else if has {
		k.CName = &cn
	}
	if err := readStringField(&seq, 9, &k.Realm, typ, "realm"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 10, &k.SName, typ, "sname"); err != nil {
		return err
	}
	if !der.ReadOptionalExplicit(&seq, 11, &f, &k.HasEText) || k.HasEText && (!der.ReadGeneralString(&f, &k.EText) || !f.Empty()) {
		return malformed(typ, "e-text")
	}
	if !der.ReadOptionalExplicit(&seq, 12, &f, &ok) || ok && (!der.ReadOctetString(&f, &k.EData) || !f.Empty()) {
		return malformed(typ, "e-data")
	}
	if ok && k.EData == nil {
		k.EData = []byte{}
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (k *KRBError) Marshal() ([]byte, error) { return marshal(k, len(k.EData)+len(k.EText)+128), nil }

// Unmarshal decodes DER.
func (k *KRBError) Unmarshal(b []byte) error { return unmarshal(b, k, "KRB-ERROR") }

// Err converts the received error into a *Error whose Reason is the
// peer's e-text.
func (k *KRBError) Err() *Error { return &Error{Code: k.ErrorCode, Reason: k.EText} }

// NewKRBError builds the KRB-ERROR a server sends for err. Only the
// code and the Reason of a *Error go on the wire; its Hint and wrapped
// cause stay local, because they may name accounts or hold details an
// attacker must not see. Errors that are not *Error become KRB_ERR_GENERIC
// with no text.
func NewKRBError(err error, now time.Time, realm string, sname PrincipalName) *KRBError {
	k := &KRBError{
		STime:     now.UTC().Truncate(time.Second),
		SUSec:     int32(now.Nanosecond() / 1000),
		ErrorCode: KRBErrGeneric,
		Realm:     realm,
		SName:     sname,
	}
	var e *Error
	if errors.As(err, &e) {
		k.ErrorCode = e.Code
		if e.Reason != "" {
			k.EText, k.HasEText = e.Reason, true
		}
	}
	return k
}

// MethodData decodes e-data as METHOD-DATA, as sent with
// KDC_ERR_PREAUTH_REQUIRED and other pre-authentication errors.
func (k *KRBError) MethodData() (MethodData, error) {
	var md MethodData
	if k.EData == nil {
		return nil, malformed("KRB-ERROR", "e-data (absent)")
	}
	if err := md.Unmarshal(k.EData); err != nil {
		return nil, err
	}
	return md, nil
}

// ExtendedError returns the NTSTATUS of a Windows-style KERB-EXT-ERROR in
// e-data, if there is one.
func (k *KRBError) ExtendedError() (NTStatus, bool) {
	var d KerbErrorData
	if k.EData == nil || d.Unmarshal(k.EData) != nil || d.DataType != KerbErrTypeExtended {
		return 0, false
	}
	var x KerbExtError
	if x.Unmarshal(d.DataValue) != nil {
		return 0, false
	}
	return x.Status, true
}
