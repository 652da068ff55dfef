package mllp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/yamldoc"
)

// Config is the listener's configuration file (serve --mllp-config). Every field but peers
// is optional:
//
//	application: LUJING          # MSH-3 of acknowledgements to messages that name no receiver
//	max_message_bytes: 1048576   # larger messages get AR (or the connection closed)
//	idle_timeout: 5m             # a connection silent (or a frame unfinished) this long is closed
//	max_connections: 256
//	peers:                       # the allow-list, tried in order
//	  - name: lab                # names the sender in logs and in message keys
//	    addresses: [10.1.2.3, 10.1.3.0/24]   # addresses or networks it connects from
//	    tls_common_names: [lis.hospital.cn]  # with TLS client certificates: the subject CN
//	    applications: [LIS]      # MSH-3 values it sends as (several systems behind one address)
//	    source: lis              # source system, and the profile its data is mapped with
//	    hospital: ""             # the hospital its data belongs to
//	    charset: GB18030         # its messages' character set when MSH-18 is empty
//	    mrn_system: urn:oid:2.16.840.1.113883.4.487.2.1.4   # Patient.identifier system of PID-3
//	                             # (default: the source profile's mrn_system)
//	    visit_system: http://hospital.cn/sid/visit            # PV1-19
//	    department_system: …     # PV1-10 (default: the profile's department service_type_system)
//	    location_system: …       # PV1-3 ward and bed
//	    staff_system: …          # XCN ids
//	    order_system: …          # placer and filler order numbers
//	    document_system: …       # TXA-12
//	    code_systems:            # HL7 coding system names (CWE-3) to FHIR system URIs
//	      L: http://lujing.example/fhir/CodeSystem/lis-local
type Config struct {
	Application     string       `yaml:"application"`
	MaxMessageBytes int          `yaml:"max_message_bytes"`
	IdleTimeout     string       `yaml:"idle_timeout"`
	MaxConnections  int          `yaml:"max_connections"`
	Peers           []PeerConfig `yaml:"peers"`
}

// PeerConfig is one peers entry.
type PeerConfig struct {
	Name             string            `yaml:"name"`
	Addresses        []string          `yaml:"addresses"`
	TLSCommonNames   []string          `yaml:"tls_common_names"`
	Applications     []string          `yaml:"applications"`
	Source           string            `yaml:"source"`
	Hospital         string            `yaml:"hospital"`
	Charset          string            `yaml:"charset"`
	MRNSystem        string            `yaml:"mrn_system"`
	VisitSystem      string            `yaml:"visit_system"`
	DepartmentSystem string            `yaml:"department_system"`
	LocationSystem   string            `yaml:"location_system"`
	StaffSystem      string            `yaml:"staff_system"`
	OrderSystem      string            `yaml:"order_system"`
	DocumentSystem   string            `yaml:"document_system"`
	CodeSystems      map[string]string `yaml:"code_systems"`
}

// DefaultConfig is the listener's configuration without a file: any program on this machine
// (loopback) may send, as the generic source.
func DefaultConfig() *Config {
	return &Config{Peers: []PeerConfig{{Name: "local", Addresses: []string{"127.0.0.0/8", "::1"}, Source: "generic"}}}
}

// ParseConfig reads a configuration file; its error lists every problem as file:line: field.
// profiles are the source profiles: a peer's source must name one, and its MRN and department
// systems are the defaults of the peer's.
func ParseConfig(file string, data []byte, profiles map[string]mapping.Profile) (*Config, error) {
	var c Config
	doc, errs := yamldoc.Decode(file, data, &c)
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	bad := func(path, format string, args ...any) { errs = append(errs, doc.Error(path, format, args...)) }
	if c.IdleTimeout != "" {
		if d, err := time.ParseDuration(c.IdleTimeout); err != nil || d <= 0 {
			bad("idle_timeout", "%q is not a positive duration such as 5m", c.IdleTimeout)
		}
	}
	if c.MaxMessageBytes < 0 {
		bad("max_message_bytes", "must be positive")
	}
	if len(c.Peers) == 0 {
		bad("peers", "at least one peer is required: no one could send")
	}
	seen := map[string]bool{}
	for i, p := range c.Peers {
		at := fmt.Sprintf("peers[%d]", i)
		switch {
		case p.Name == "":
			bad(at+".name", "required")
		case strings.Contains(p.Name, "|"):
			bad(at+".name", "may not hold '|'")
		case seen[p.Name]:
			bad(at+".name", "%q is named twice", p.Name)
		}
		seen[p.Name] = true
		if len(p.Addresses) == 0 {
			bad(at+".addresses", "required: the addresses the peer connects from")
		}
		for j, a := range p.Addresses {
			if _, err := prefix(a); err != nil {
				bad(fmt.Sprintf("%s.addresses[%d]", at, j), "%q is not an IP address or network", a)
			}
		}
		if p.Source == "" {
			bad(at+".source", "required: the source system its data is filed under")
		} else if profiles != nil {
			if _, ok := profiles[p.Source]; !ok {
				bad(at+".source", "no source profile %q", p.Source)
			}
		}
		if p.Charset != "" && !hl7v2.KnownCharset(p.Charset) {
			bad(at+".charset", "%q is not a character set Lujing reads (ASCII, UNICODE UTF-8, GB18030, GBK, 8859/1…)", p.Charset)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

func prefix(a string) (netip.Prefix, error) {
	if strings.Contains(a, "/") {
		return netip.ParsePrefix(a)
	}
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// Options turns the configuration into the server's allow-list and limits, and the peers by
// name (for Replay). profiles give the defaults of MRN and department systems.
func (c *Config) Options(profiles map[string]mapping.Profile) (ServerOptions, map[string]*Peer, error) {
	var o ServerOptions
	o.MaxMessage = c.MaxMessageBytes
	o.MaxConnections = c.MaxConnections
	if c.IdleTimeout != "" {
		d, err := time.ParseDuration(c.IdleTimeout)
		if err != nil {
			return o, nil, fmt.Errorf("idle_timeout: %w", err)
		}
		o.IdleTimeout = d
	}
	peers := map[string]*Peer{}
	for _, pc := range c.Peers {
		prof := profiles[pc.Source]
		mrn := pc.MRNSystem
		if mrn == "" {
			mrn = prof.MRNSystem
		}
		dept := pc.DepartmentSystem
		if dept == "" && strings.Contains(prof.Department.ServiceTypeSystem, ":") {
			dept = prof.Department.ServiceTypeSystem
		}
		p := &Peer{Name: pc.Name, Source: pc.Source, Hospital: pc.Hospital, Charset: pc.Charset, Applications: pc.Applications,
			Mapping: hl7v2.Options{MRNSystem: mrn, VisitSystem: pc.VisitSystem, DepartmentSystem: dept, LocationSystem: pc.LocationSystem,
				StaffSystem: pc.StaffSystem, OrderSystem: pc.OrderSystem, DocumentSystem: pc.DocumentSystem, CodeSystems: pc.CodeSystems}}
		a := Allowed{Peer: p, CommonNames: pc.TLSCommonNames}
		for _, s := range pc.Addresses {
			n, err := prefix(s)
			if err != nil {
				return o, nil, fmt.Errorf("peer %s: %w", pc.Name, err)
			}
			a.Networks = append(a.Networks, n)
		}
		o.Allow = append(o.Allow, a)
		peers[p.Name] = p
	}
	return o, peers, nil
}
