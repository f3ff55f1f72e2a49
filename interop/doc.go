// Package interop holds tests only: Warden against real third-party peers
// (MIT krb5 today; Heimdal, curl, OpenSSL, Python and gokrb5 as the
// features they exercise arrive). A missing peer skips the test locally and
// fails it when CI=true.
package interop
