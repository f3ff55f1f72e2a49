package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// Certificate is a PKINIT client identity (RFC 4556): a certificate, the
// intermediates the KDC may need to reach its trust anchor, and the
// private key that signs the AuthPack. A smart card's key is any
// crypto.Signer; only RSA and ECDSA keys are accepted, as those are what
// CMS signatures in PKINIT use.
type Certificate struct {
	// Chain is the client certificate first, then intermediates (not the
	// root: the KDC has its own anchors).
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// maxIdentityFile caps what LoadCertificate reads from one file: a chain
// of a few certificates is a few KiB.
const maxIdentityFile = 1 << 20

// LoadCertificate reads a PKINIT identity from PEM files: certFile holds
// the client certificate and optionally intermediates, keyFile the
// unencrypted private key (PKCS#8 "PRIVATE KEY", "EC PRIVATE KEY" or
// PKCS#1 "RSA PRIVATE KEY"). keyFile may be the same file as certFile.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	cb, err := readIdentityFile(certFile)
	if err != nil {
		return nil, err
	}
	kb, err := readIdentityFile(keyFile)
	if err != nil {
		return nil, err
	}
	c, err := ParseCertificate(cb, kb)
	if err != nil {
		return nil, fmt.Errorf("PKINIT identity %s, %s: %w", certFile, keyFile, err)
	}
	return c, nil
}

func readIdentityFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIdentityFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxIdentityFile {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a certificate or key file", path, maxIdentityFile)
	}
	return b, nil
}

// ParseCertificate builds a Certificate from PEM data: every CERTIFICATE
// block of certPEM in order (client certificate first) and the first
// private key block of keyPEM, which must belong to the first certificate.
func ParseCertificate(certPEM, keyPEM []byte) (*Certificate, error) {
	var c Certificate
	var err error
	if c.Chain, err = pemCertificates(certPEM, maxChain); err != nil {
		return nil, fmt.Errorf("the certificate file: %w", err)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(c.Chain[0].PublicKey) {
		return nil, fmt.Errorf("the private key does not belong to the certificate %q (the first in the file)", c.Chain[0].Subject)
	}
	c.Key = key
	return &c, nil
}

// maxChain caps the certificates of a client identity: a leaf and a few
// intermediates.
const maxChain = 16

// pemCertificates returns the CERTIFICATE blocks of b in order, at most
// max of them; other blocks (keys, CRLs) are skipped. Identities and
// pkinit_anchors files are read with it.
func pemCertificates(b []byte, max int) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if len(out) == max {
			return nil, fmt.Errorf("more than %d certificates", max)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return out, nil
}

// parsePrivateKey returns the first private key block of b.
func parsePrivateKey(b []byte) (crypto.Signer, error) {
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, errors.New("no PEM private key block (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY) in the key file")
		}
		var key any
		var err error
		switch blk.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			if _, enc := blk.Headers["DEK-Info"]; enc {
				return nil, errors.New("the key is encrypted (legacy PEM encryption): decrypt it first, e.g. openssl pkey -in KEY -out KEY.plain")
			}
			key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the key is encrypted (PKCS#8): decrypt it first, e.g. openssl pkey -in KEY -out KEY.plain")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", blk.Type, err)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("a %T key: PKINIT signatures need an RSA or ECDSA key", key)
	}
}
