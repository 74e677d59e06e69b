package wire

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgproto3/v2"
)

// SCRAM-SHA-256 (RFC 5802, RFC 7677) server side, without channel binding,
// as Postgres does it: the user name in the SCRAM messages is ignored.
const (
	scramMechanism  = "SCRAM-SHA-256"
	scramIterations = 4096
)

// scramVerifier holds what a server stores for a password: salt, iteration
// count, StoredKey and ServerKey. It is computed once per server.
type scramVerifier struct {
	salt      []byte
	storedKey []byte
	serverKey []byte
}

func newSCRAMVerifier(password string) *scramVerifier {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails on supported platforms
	// pbkdf2.Key fails only for key lengths beyond what SHA-256 can give.
	salted, _ := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return &scramVerifier{salt: salt, storedKey: stored[:], serverKey: hmacSHA256(salted, "Server Key")}
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

var errBadPassword = errors.New("password authentication failed")

// authenticateSCRAM runs the SASL exchange. It returns errBadPassword (or a
// protocol error) when the client does not prove it knows the password.
func (c *conn) authenticateSCRAM(v *scramVerifier) error {
	c.send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{scramMechanism}})
	if err := c.w.Flush(); err != nil {
		return err
	}
	msg, err := c.fe.receive(authSASLInitial)
	if err != nil {
		return err
	}
	initial, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return fmt.Errorf("expected SASLInitialResponse, got %T", msg)
	}
	if initial.AuthMechanism != scramMechanism {
		return fmt.Errorf("unsupported SASL mechanism %q", initial.AuthMechanism)
	}
	clientFirst := string(initial.Data)
	// gs2-header: "n,," or "y,," (client could bind a channel but thinks we
	// cannot), optionally with an authzid; "p=..." asks for binding we lack.
	cbFlag, rest, ok1 := strings.Cut(clientFirst, ",")
	authzid, bare, ok2 := strings.Cut(rest, ",")
	if !ok1 || !ok2 || (cbFlag != "n" && cbFlag != "y") {
		return fmt.Errorf("unsupported SCRAM gs2 header in %q", clientFirst)
	}
	gs2Header := cbFlag + "," + authzid + ","
	clientNonce := scramAttr(bare, 'r')
	if clientNonce == "" {
		return fmt.Errorf("SCRAM client-first-message without nonce")
	}
	nonceBytes := make([]byte, 18)
	_, _ = rand.Read(nonceBytes)
	nonce := clientNonce + base64.StdEncoding.EncodeToString(nonceBytes)
	serverFirst := "r=" + nonce + ",s=" + base64.StdEncoding.EncodeToString(v.salt) +
		",i=" + fmt.Sprint(scramIterations)

	c.send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	if err := c.w.Flush(); err != nil {
		return err
	}
	msg, err = c.fe.receive(authSASLContinue)
	if err != nil {
		return err
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return fmt.Errorf("expected SASLResponse, got %T", msg)
	}
	clientFinal := string(resp.Data)
	withoutProof, proofB64, ok := strings.Cut(clientFinal, ",p=")
	if !ok {
		return fmt.Errorf("SCRAM client-final-message without proof")
	}
	if scramAttr(withoutProof, 'c') != base64.StdEncoding.EncodeToString([]byte(gs2Header)) {
		return fmt.Errorf("SCRAM channel binding mismatch")
	}
	if scramAttr(withoutProof, 'r') != nonce {
		return fmt.Errorf("SCRAM nonce mismatch")
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return errBadPassword
	}
	authMessage := bare + "," + serverFirst + "," + withoutProof
	clientSignature := hmacSHA256(v.storedKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	for i := range clientKey {
		clientKey[i] = proof[i] ^ clientSignature[i]
	}
	stored := sha256.Sum256(clientKey)
	if !hmac.Equal(stored[:], v.storedKey) {
		return errBadPassword
	}
	serverSignature := hmacSHA256(v.serverKey, authMessage)
	c.send(&pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSignature))})
	return nil
}

// scramAttr returns the value of attribute name in a comma-separated SCRAM
// message, "" when absent.
func scramAttr(msg string, name byte) string {
	for part := range strings.SplitSeq(msg, ",") {
		if len(part) >= 2 && part[0] == name && part[1] == '=' {
			return part[2:]
		}
	}
	return ""
}
