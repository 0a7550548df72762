package fakecli

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// sbx's network proxy. "The only way traffic can leave a sandbox is through an HTTP/HTTPS proxy on your
// host, which enforces access rules on every outbound request" (docs.docker.com/ai/sandboxes/security/
// policy); sbx points HTTP(S)_PROXY inside the sandbox at it and installs the proxy's CA into the
// sandbox's trust bundle, so it terminates TLS ("the TLS-proxy CA is installed by merging into the trust
// bundle", sbx-releases v0.35.0 notes). A request the policy does not allow gets HTTP 403 with a body
// such as
//
//	Blocked by network policy: domain example.com:443
//	  detail: no matching allow rule - blocked by default deny policy
//
// (curl through the proxy, docker/sbx-releases#611, v0.42.1 and v0.45.0). The double's VM process runs
// the same (serveProxy, on the VM's own loopback address): CONNECT for https, which it terminates with a
// certificate from its own CA (SSL_CERT_FILE inside points at it), and absolute-URI requests for http.
// The policy is the store `sbx policy` keeps (policy.go), read on every request, deny before allow, and
// nothing is allowed by default (the "Locked Down" preset). An allowed host is never contacted: the
// double does not reach the internet, so it answers 502 saying so.

const (
	proxyCAFile  = ".proxy-ca.pem"     // under the root: what SSL_CERT_FILE names inside every sandbox
	proxyKeyFile = ".proxy-ca-key.pem" // its key, 0600
	// blockedDetail is sbx's detail line for a host no rule allows (sbx-releases#611).
	blockedDetail = "no matching allow rule - blocked by default deny policy"
	// notReached is the double's answer for an allowed host.
	notReached = "the sbx test double does not reach the internet: %s is allowed by the network policy, but nothing was contacted\n"
)

// proxyEnv is what sbx sets inside a sandbox whose VM runs a proxy at addr (host:port).
func (e *env) proxyEnv(addr string) []string {
	u := "http://" + addr
	return []string{"HTTP_PROXY=" + u, "HTTPS_PROXY=" + u, "http_proxy=" + u, "https_proxy=" + u,
		"NO_PROXY=localhost,127.0.0.1,::1", "no_proxy=localhost,127.0.0.1,::1",
		"SSL_CERT_FILE=" + filepath.Join(e.root, proxyCAFile)}
}

// proxyCA loads the root's CA, creating it on first use. Called with the state lock held (ensureVM).
func (e *env) proxyCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(e.root, proxyCAFile), filepath.Join(e.root, proxyKeyFile)
	if cb, err := os.ReadFile(certPath); err == nil {
		kb, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, nil, err
		}
		cp, _ := pem.Decode(cb)
		kp, _ := pem.Decode(kb)
		if cp == nil || kp == nil {
			return nil, nil, errors.New("unreadable proxy CA")
		}
		cert, err := x509.ParseCertificate(cp.Bytes)
		if err != nil {
			return nil, nil, err
		}
		key, err := x509.ParseECPrivateKey(kp.Bytes)
		return cert, key, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake sbx proxy CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(e.root, 0o755); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// proxy is one VM's network proxy.
type proxy struct {
	e    *env
	name string // the sandbox
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
}

// serveProxy answers every connection on ln until ln is closed.
func (p *proxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *proxy) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a stuck client cannot keep a goroutine forever
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		// A plain http request through the proxy carries an absolute URI.
		host := req.URL.Host
		if req.URL.Port() == "" {
			host = net.JoinHostPort(req.URL.Hostname(), "80")
		}
		p.answer(c, host)
		return
	}
	host := req.Host // CONNECT host:port
	if _, _, err := net.SplitHostPort(host); err != nil {
		writeResp(c, http.StatusBadRequest, "CONNECT needs host:port\n")
		return
	}
	// sbx terminates TLS itself, so even a blocked request is answered inside the tunnel: the client
	// reads the 403 and its body, not a failed CONNECT.
	if _, err := c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	cert, err := p.leaf(hostOnly(host))
	if err != nil {
		return
	}
	tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err := tc.Handshake(); err != nil {
		return // the client does not trust the CA: it reports a certificate error, as with sbx
	}
	defer tc.Close()
	if _, err := http.ReadRequest(bufio.NewReader(tc)); err != nil {
		return
	}
	p.answer(tc, host)
}

// answer writes the policy's verdict on host (host:port) to w.
func (p *proxy) answer(w net.Conn, hostPort string) {
	if p.e.policyAllows(p.name, hostPort) {
		writeResp(w, http.StatusBadGateway, fmt.Sprintf(notReached, hostOnly(hostPort)))
		return
	}
	writeResp(w, http.StatusForbidden, fmt.Sprintf("Blocked by network policy: domain %s\n  detail: %s\n", hostPort, blockedDetail))
}

func writeResp(w net.Conn, code int, body string) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(body), body)
}

func hostOnly(hostPort string) string {
	if h, _, err := net.SplitHostPort(hostPort); err == nil {
		return h
	}
	return hostPort
}

// leaf is a certificate for host signed by the CA.
func (p *proxy) leaf(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// policyAllows evaluates the `sbx policy` store for a request from sandbox name to hostPort: a deny rule
// wins over an allow rule ("Deny rules always take precedence", reference/cli/sbx/policy/deny), rules
// scoped to the sandbox and global ones both apply, and without a matching allow rule the request is
// blocked. Patterns: an exact domain, `*.example.com` for its subdomains, `**` for everything, each with
// an optional `:port` (reference/cli/sbx/policy/allow/network).
func (e *env) policyAllows(name, hostPort string) bool {
	var recs []policyRec
	if err := e.loadStore("policy", &recs); err != nil {
		return false
	}
	allowed := false
	for _, r := range recs {
		if (r.Scope != name && r.Scope != globalScope) || !ruleMatches(r.Host, hostPort) {
			continue
		}
		if r.Action == "deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func ruleMatches(rule, hostPort string) bool {
	host, port := hostOnly(hostPort), ""
	if _, p, err := net.SplitHostPort(hostPort); err == nil {
		port = p
	}
	pat := rule
	if h, p, err := net.SplitHostPort(rule); err == nil {
		if p != port {
			return false
		}
		pat = h
	}
	host, pat = strings.ToLower(host), strings.ToLower(pat)
	switch {
	case pat == "**":
		return true
	case strings.HasPrefix(pat, "*."):
		return strings.HasSuffix(host, pat[1:])
	}
	return host == pat
}
