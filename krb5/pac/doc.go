// Package pac encodes, decodes, signs and verifies the Microsoft
// Privilege Attribute Certificate (MS-PAC) that Warden's KDC puts in
// tickets and that services read to learn a user's SID, groups, claims
// and device.
//
// A PAC is a PACTYPE container of typed buffers. This package interprets
// the logon info (KERB_VALIDATION_INFO), client info, UPN/DNS info,
// device info, attributes, requestor and the four signature buffers; the
// client and device claims buffers are kept as bytes (DecodeClaims reads
// uncompressed ones) and any other buffer type is carried unchanged.
// NDR-encoded buffers go through internal/ndr.
//
// Signatures follow MS-PAC 2.8 (summarised in the project's pac.md §6):
// Sign lays out zero-filled signature buffers and computes the ticket,
// full-PAC, server and KDC signatures in that order, all with key usage
// 17 and the checksum of the signing key's enctype (hmac-sha1-96-aes*
// for AES-SHA1 keys, the RFC 8009 checksums for AES-SHA2 keys, hmac-md5
// for RC4 keys when kcrypto allows them). Each Verify method checks one
// signature over the bytes as received (PAC.Raw).
//
// Decoding is meant for hostile input: the buffer table is bounds- and
// overlap-checked, every NDR count is bounded by the bytes left before
// anything is allocated, and nothing panics. Every failure is a *Error
// (errors.Is with ErrMalformed, ErrMissing, ErrSignature, ErrUnsupported
// or ErrMismatch) whose Reason names the buffer, the field and the
// offset.
package pac
