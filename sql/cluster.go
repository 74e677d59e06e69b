package sql

// ShowCluster is SHOW CLUSTER (the nodes) or SHOW CLUSTER LEASES.
type ShowCluster struct {
	stmtBase
	Leases bool
}

// ClusterPeer is an internal statement one cluster node sends another
// (docs/cluster.md section 7): STREAMSQL CLUSTER SCAN PART 'group' 'key'
// TOKEN 'hex' reads a part the receiver owns; STREAMSQL CLUSTER FLUSH
// LOCAL TOKEN 'hex' flushes the parts it runs. The token signs the
// statement with the cluster secret.
type ClusterPeer struct {
	stmtBase
	// Op is "scan" or "flush".
	Op         string
	Group, Key string
	Token      string
}

// parseClusterPeer parses what follows STREAMSQL.
func (p *parser) parseClusterPeer() (spanSetter, error) {
	p.next() // STREAMSQL
	if err := p.expect("cluster"); err != nil {
		return nil, err
	}
	st := &ClusterPeer{}
	str := func() (string, error) {
		t := p.next()
		if t.kind != tString {
			return "", p.syntaxErr(t)
		}
		return t.val, nil
	}
	var err error
	switch t := p.next(); {
	case t.is("scan"):
		if err := p.expect("part"); err != nil {
			return nil, err
		}
		st.Op = "scan"
		if st.Group, err = str(); err != nil {
			return nil, err
		}
		if st.Key, err = str(); err != nil {
			return nil, err
		}
	case t.is("flush"):
		if err := p.expect("local"); err != nil {
			return nil, err
		}
		st.Op = "flush"
	default:
		return nil, p.syntaxErr(t)
	}
	if err := p.expect("token"); err != nil {
		return nil, err
	}
	if st.Token, err = str(); err != nil {
		return nil, err
	}
	return st, p.expectEnd()
}
