package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// ctsScratch is the block buffers of one CTS pass. They come from the
// caller (a pooled scratch) because blocks handed to cipher.Block, an
// interface, would otherwise escape to the heap on every message.
type ctsScratch [5][aes.BlockSize]byte

// ctsEncrypt is AES in CBC mode with ciphertext stealing and a zero IV
// (RFC 3962 5; the same mode RFC 8009 uses). len(src) >= 16; dst may be
// src. The chaining is done here block by block rather than with
// crypto/cipher's CBC mode, which copies the whole key schedule into
// every BlockMode it makes: Kerberos messages are short and this path
// allocates nothing.
func ctsEncrypt(b cipher.Block, dst, src []byte, t *ctsScratch) {
	const bs = aes.BlockSize
	if len(src) == bs {
		b.Encrypt(dst, src)
		return
	}
	n := (len(src) + bs - 1) / bs
	tail := len(src) - (n-1)*bs
	c, en1, en := &t[0], &t[1], &t[2]
	*c = [bs]byte{} // chaining value; the IV is zero
	for i := 0; i < n-2; i++ {
		subtle.XORBytes(c[:], c[:], src[i*bs:(i+1)*bs])
		b.Encrypt(c[:], c[:])
		copy(dst[i*bs:], c[:])
	}
	// E(n-1) from the last full block, then E(n) from the zero-padded
	// tail; they are output swapped, E(n-1) cut to the tail's length.
	subtle.XORBytes(en1[:], c[:], src[(n-2)*bs:(n-1)*bs])
	b.Encrypt(en1[:], en1[:])
	*en = *en1
	subtle.XORBytes(en[:tail], en[:tail], src[(n-1)*bs:])
	b.Encrypt(en[:], en[:])
	copy(dst[(n-2)*bs:], en[:])
	copy(dst[(n-1)*bs:], en1[:tail])
}

// ctsDecrypt reverses ctsEncrypt. len(src) >= 16; dst may be src.
func ctsDecrypt(b cipher.Block, dst, src []byte, t *ctsScratch) {
	const bs = aes.BlockSize
	if len(src) == bs {
		b.Decrypt(dst, src)
		return
	}
	n := (len(src) + bs - 1) / bs
	tail := len(src) - (n-1)*bs
	iv, c, d, full, last := &t[0], &t[1], &t[2], &t[3], &t[4] // iv: the previous ciphertext block
	*iv = [bs]byte{}
	for i := 0; i < n-2; i++ {
		copy(c[:], src[i*bs:(i+1)*bs])
		b.Decrypt(d[:], c[:])
		subtle.XORBytes(dst[i*bs:(i+1)*bs], d[:], iv[:])
		*iv = *c
	}
	// The full block at n-2 is E(n); the tail is the head of E(n-1).
	// Decrypting E(n) gives P(n) XOR E(n-1) padded: its bytes past the
	// tail are the stolen bytes of E(n-1).
	b.Decrypt(d[:], src[(n-2)*bs:(n-1)*bs])
	*full = [bs]byte{}
	copy(full[:], src[(n-1)*bs:])
	copy(full[tail:], d[tail:])
	subtle.XORBytes(last[:tail], d[:tail], full[:tail])
	b.Decrypt(d[:], full[:])
	subtle.XORBytes(dst[(n-2)*bs:(n-1)*bs], d[:], iv[:])
	copy(dst[(n-1)*bs:], last[:tail])
}
