// Package ntlm implements NTLMv2 (MS-NLMP): the NEGOTIATE, CHALLENGE and
// AUTHENTICATE messages with their AV pairs, the NTLMv2 response and its
// verification, session keys, the MIC, and message signing and sealing.
//
// The halves are split the way pass-through authentication (MS-APDS)
// needs them: a Client answers a challenge from the user's password; a
// Server issues challenges and finishes a context with the session key
// that the authentication authority returns; VerifyResponse is what the
// authority runs against the NT hash in its account DB. NTLMv1 and LM
// responses are refused.
package ntlm
