package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
)

// ctsEncrypt is AES in CBC mode with ciphertext stealing and a zero IV
// (RFC 3962 5; the same mode RFC 8009 uses). len(src) >= 16.
func ctsEncrypt(b cipher.Block, dst, src []byte) {
	const bs = aes.BlockSize
	if len(src) == bs {
		b.Encrypt(dst, src)
		return
	}
	n := (len(src) + bs - 1) / bs
	padded := make([]byte, n*bs)
	copy(padded, src)
	enc := make([]byte, n*bs)
	cipher.NewCBCEncrypter(b, make([]byte, bs)).CryptBlocks(enc, padded)
	// Swap the last two blocks and cut the (new) last one to the tail size.
	tail := len(src) - (n-1)*bs
	copy(dst, enc[:(n-2)*bs])
	copy(dst[(n-2)*bs:], enc[(n-1)*bs:])
	copy(dst[(n-1)*bs:], enc[(n-2)*bs:(n-2)*bs+tail])
}

// ctsDecrypt reverses ctsEncrypt. len(src) >= 16.
func ctsDecrypt(b cipher.Block, dst, src []byte) {
	const bs = aes.BlockSize
	if len(src) == bs {
		b.Decrypt(dst, src)
		return
	}
	n := (len(src) + bs - 1) / bs
	tail := len(src) - (n-1)*bs
	iv := make([]byte, bs)
	if n > 2 {
		cipher.NewCBCDecrypter(b, make([]byte, bs)).CryptBlocks(dst[:(n-2)*bs], src[:(n-2)*bs])
		copy(iv, src[(n-3)*bs:(n-2)*bs])
	}
	// C_{n-1} (full) is at [(n-2)bs, (n-1)bs); C_n (tail bytes) follows.
	cPrev := src[(n-2)*bs : (n-1)*bs]
	cLast := src[(n-1)*bs:]
	d := make([]byte, bs)
	b.Decrypt(d, cPrev) // = P_n(padded) XOR C_n(padded) ... per CBC with swapped blocks
	full := make([]byte, bs)
	copy(full, cLast)
	copy(full[tail:], d[tail:]) // recover the stolen ciphertext bytes
	for i := 0; i < tail; i++ {
		dst[(n-1)*bs+i] = d[i] ^ full[i]
	}
	b.Decrypt(d, full)
	for i := 0; i < bs; i++ {
		dst[(n-2)*bs+i] = d[i] ^ iv[i]
	}
}
