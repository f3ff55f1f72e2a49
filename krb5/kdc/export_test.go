package kdc

import (
	"context"

	"github.com/warden-auth/warden/krb5"
)

// VerifyServiceTicketPAC exposes verifyServiceTicketPAC to the external
// tests: the check a service ticket presented back to the KDC must pass
// (the Bronze Bit defence), with service's current ticket key.
func (k *KDC) VerifyServiceTicketPAC(ctx context.Context, etp *krb5.EncTicketPart, service string) error {
	svc, err := k.dir.lookup(ctx, service)
	if err != nil {
		return err
	}
	krbtgt, err := k.krbtgt(ctx)
	if err != nil {
		return err
	}
	key, _ := svc.ticketKey()
	_, err = verifyServiceTicketPAC(etp, key, krbtgt)
	return err
}
