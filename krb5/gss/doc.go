// Package gss implements the GSS-API Kerberos V5 mechanism (RFC 4121) and
// SPNEGO (RFC 4178 with MS-SPNG behaviour) for Warden's initiators and
// acceptors.
//
// The package has three layers:
//
//   - Context establishment (Initiator, Acceptor): the framed AP-REQ /
//     AP-REP / KRB-ERROR exchange of RFC 4121 4.1, authenticator checksum
//     0x8003 with channel bindings and delegation, the acceptor's replay
//     cache, and the mapping of a verified ticket's PAC to an identity.
//   - Per-message protection (PerMessage, SeqWindow): the RFC 4121 4.2 MIC
//     and Wrap tokens for the AES (RFC 3962) and AES-SHA2 (RFC 8009)
//     enctypes, with the sequence-number window of RFC 2743 1.2.3. SPNEGO
//     uses it for the mechListMIC; applications for GSS_Wrap/GSS_GetMIC.
//   - SPNEGO tokens (NegTokenInit, NegTokenResp): encode and decode, with
//     the NegTokenInit2 form Windows servers send and the raw MechTypeList
//     bytes that the mechListMIC covers.
//
// Every failure is a *Error whose Code names the GSS major status (or,
// for Kerberos-specific failures during establishment, the KRB_AP_ERR
// reason), with a Reason that is safe to show the peer and a Hint for the
// operator. Decoders never panic, bound their input, and copy what they
// keep.
package gss
