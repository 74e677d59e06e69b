package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The table's layout (docs/cluster.md section 2): one string hash key and
// one string range key; every kind of item is a partition key value.
const (
	attrPK = "pk"
	attrSK = "sk"

	pkNode        = "node"
	pkLeasePrefix = "lease#" // + group; sk = lease key
	pkCatalog     = "catalog"
)

// DynamoConfig says which table to use and how to reach DynamoDB.
type DynamoConfig struct {
	// Table is the cluster's table (streamsql serve --cluster).
	Table string
	// Endpoint overrides DynamoDB's (an emulator's URL); empty: AWS's.
	Endpoint string
	// Region to sign for; required.
	Region string
	// AccessKeyID and SecretAccessKey are static credentials (an
	// emulator accepts any pair). Both empty: the SDK's default chain
	// (environment, shared config, instance role).
	AccessKeyID, SecretAccessKey string
	// CallTimeout bounds each DynamoDB call whatever the caller's ctx
	// allows (default 10s): a lease write that hangs must not hold a
	// commit for ever.
	CallTimeout time.Duration
	// TableTimeout bounds the wait for a created table to become ACTIVE
	// (default 60s).
	TableTimeout time.Duration
}

// Dynamo is the lease table (LeaseTable) and the catalog log (CatalogLog)
// in one DynamoDB table. Every ownership change is one conditional
// UpdateItem on one item; DynamoDB transactions are not used (dynalite,
// the test stand-in, lacks them, and one item is all the fencing needs).
type Dynamo struct {
	c           *dynamodb.Client
	table       string
	callTimeout time.Duration
}

var (
	_ LeaseTable = (*Dynamo)(nil)
	_ CatalogLog = (*Dynamo)(nil)
)

// OpenDynamo makes a client for cfg and creates the table if it does not
// exist (on-demand capacity), waiting, bounded, until it is ACTIVE.
func OpenDynamo(ctx context.Context, cfg DynamoConfig) (*Dynamo, error) {
	if cfg.Table == "" {
		return nil, errors.New("dynamodb: no table name")
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("dynamodb table %s: no region", cfg.Table)
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, fmt.Errorf("dynamodb table %s: give both the access key id and the secret, or neither", cfg.Table)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.TableTimeout <= 0 {
		cfg.TableTimeout = 60 * time.Second
	}
	opts := dynamodb.Options{
		Region: cfg.Region,
		// The client-side retry quota guards a shared service against
		// retry storms; a lease write failing with "quota exceeded"
		// instead of retrying only turns a slow moment into a lost lease.
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None }),
	}
	if cfg.AccessKeyID != "" {
		key, secret := cfg.AccessKeyID, cfg.SecretAccessKey
		opts.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, Source: "streamsql static"}, nil
		}))
	} else {
		ac, err := config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("dynamodb table %s: AWS credentials: %w", cfg.Table, err)
		}
		opts.Credentials = ac.Credentials
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	d := &Dynamo{c: dynamodb.New(opts), table: cfg.Table, callTimeout: cfg.CallTimeout}
	if err := d.ensureTable(ctx, cfg.TableTimeout); err != nil {
		return nil, err
	}
	return d, nil
}

// call bounds one DynamoDB call by the caller's ctx and the call timeout.
func (d *Dynamo) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.callTimeout)
}

func (d *Dynamo) ensureTable(ctx context.Context, bound time.Duration) error {
	cctx, cancel := d.call(ctx)
	_, err := d.c.CreateTable(cctx, &dynamodb.CreateTableInput{
		TableName: aws.String(d.table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	cancel()
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamodb: create table %s: %w", d.table, err)
	}
	wctx, wcancel := context.WithTimeout(ctx, bound)
	defer wcancel()
	last := "not described yet"
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		cctx, cancel := d.call(wctx)
		out, err := d.c.DescribeTable(cctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.table)})
		cancel()
		switch {
		case err == nil:
			last = string(out.Table.TableStatus)
			if out.Table.TableStatus == types.TableStatusActive {
				return nil
			}
		case wctx.Err() == nil:
			last = err.Error()
		}
		t := time.NewTimer(delay)
		select {
		case <-wctx.Done():
			t.Stop()
			return fmt.Errorf("dynamodb: table %s not ACTIVE after %v (last: %s): %w", d.table, bound, last, wctx.Err())
		case <-t.C:
		}
	}
}

// Attribute values, built and read.

func avS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func avN(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func avU(v uint64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatUint(v, 10)}
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: avS(pk), attrSK: avS(sk)}
}

func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func attrN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	x, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return x, nil
}

func attrU(item map[string]types.AttributeValue, name string) (uint64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	x, err := strconv.ParseUint(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return x, nil
}

func leaseFromItem(item map[string]types.AttributeValue) (Lease, error) {
	l := Lease{
		Group:   strings.TrimPrefix(attrS(item, attrPK), pkLeasePrefix),
		Key:     attrS(item, attrSK),
		Owner:   attrS(item, "owner"),
		Handoff: attrS(item, "handoff"),
	}
	if b, ok := item["checkpoint"].(*types.AttributeValueMemberB); ok {
		l.Checkpoint = b.Value
	}
	var errs [3]error
	l.Counter, errs[0] = attrN(item, "counter")
	l.Epoch, errs[1] = attrU(item, "epoch")
	l.Moves, errs[2] = attrN(item, "moves")
	if err := errors.Join(errs[:]...); err != nil {
		return Lease{}, fmt.Errorf("lease item %s: %w", l.ID(), err)
	}
	return l, nil
}

// leaseWriteErr turns a lost condition into ErrFenced, and wraps anything else
// with the operation and the lease.
func leaseWriteErr(op, id string, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%s lease %s: %w", op, id, ErrFenced)
	}
	return fmt.Errorf("dynamodb: %s lease %s: %w", op, id, err)
}

// Nodes.

// Heartbeat implements LeaseTable: one UpdateItem that creates the node
// item if needed and increments its beat.
func (d *Dynamo) Heartbeat(ctx context.Context, nd Node) error {
	set := "SET addr = :addr, beat = if_not_exists(beat, :zero) + :one"
	vals := map[string]types.AttributeValue{":addr": avS(nd.Addr), ":zero": avN(0), ":one": avN(1)}
	if len(nd.Info) > 0 {
		m := make(map[string]types.AttributeValue, len(nd.Info))
		for k, v := range nd.Info {
			m[k] = avS(v)
		}
		set += ", info = :info"
		vals[":info"] = &types.AttributeValueMemberM{Value: m}
	} else {
		set += " REMOVE info"
	}
	cctx, cancel := d.call(ctx)
	defer cancel()
	_, err := d.c.UpdateItem(cctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       itemKey(pkNode, nd.ID),
		UpdateExpression:          aws.String(set),
		ExpressionAttributeValues: vals,
	})
	if err != nil {
		return fmt.Errorf("dynamodb: heartbeat of node %s: %w", nd.ID, err)
	}
	return nil
}

// Nodes implements LeaseTable: one Query of the node items.
func (d *Dynamo) Nodes(ctx context.Context) ([]Node, error) {
	items, err := d.query(ctx, pkNode, "", false)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: list nodes: %w", err)
	}
	nodes := make([]Node, 0, len(items))
	for _, it := range items {
		nd := Node{ID: attrS(it, attrSK), Addr: attrS(it, "addr")}
		if nd.Beat, err = attrN(it, "beat"); err != nil {
			return nil, fmt.Errorf("dynamodb: node item %s: %w", nd.ID, err)
		}
		if m, ok := it["info"].(*types.AttributeValueMemberM); ok {
			nd.Info = make(map[string]string, len(m.Value))
			for k, v := range m.Value {
				if sv, ok := v.(*types.AttributeValueMemberS); ok {
					nd.Info[k] = sv.Value
				}
			}
		}
		nodes = append(nodes, nd)
	}
	return nodes, nil
}

// Leave implements LeaseTable.
func (d *Dynamo) Leave(ctx context.Context, id string) error {
	cctx, cancel := d.call(ctx)
	defer cancel()
	if _, err := d.c.DeleteItem(cctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.table), Key: itemKey(pkNode, id)}); err != nil {
		return fmt.Errorf("dynamodb: leave of node %s: %w", id, err)
	}
	return nil
}

// Leases.

// Ensure implements LeaseTable: a PutItem conditional on the item not
// existing, so an existing lease (and its checkpoint) is never reset.
func (d *Dynamo) Ensure(ctx context.Context, group, k string) error {
	item := itemKey(pkLeasePrefix+group, k)
	item["counter"], item["epoch"], item["moves"] = avN(0), avN(0), avN(0)
	cctx, cancel := d.call(ctx)
	defer cancel()
	_, err := d.c.PutItem(cctx, &dynamodb.PutItemInput{
		TableName:           aws.String(d.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("dynamodb: ensure lease %s: %w", Lease{Group: group, Key: k}.ID(), err)
	}
	return nil
}

// Leases implements LeaseTable. One group is one Query; every group ("")
// is one Scan of the table filtered to lease items: the table holds a few
// thousand items at most (docs/cluster.md section 9), and a Scan needs no
// item listing the groups that could drift from the leases themselves.
// The result is sorted by group, then key.
func (d *Dynamo) Leases(ctx context.Context, group string) ([]Lease, error) {
	var items []map[string]types.AttributeValue
	var err error
	if group != "" {
		items, err = d.query(ctx, pkLeasePrefix+group, "", false)
	} else {
		items, err = d.scanPrefix(ctx, pkLeasePrefix)
	}
	if err != nil {
		return nil, fmt.Errorf("dynamodb: list leases of group %q: %w", group, err)
	}
	leases := make([]Lease, 0, len(items))
	for _, it := range items {
		l, err := leaseFromItem(it)
		if err != nil {
			return nil, fmt.Errorf("dynamodb: %w", err)
		}
		leases = append(leases, l)
	}
	slices.SortFunc(leases, func(a, b Lease) int {
		return cmpPair(a.Group, a.Key, b.Group, b.Key)
	})
	return leases, nil
}

func cmpPair(a1, a2, b1, b2 string) int {
	if c := strings.Compare(a1, b1); c != 0 {
		return c
	}
	return strings.Compare(a2, b2)
}

// Take implements LeaseTable: counter = l.Counter AND owner = l.Owner (or
// no owner) -> owner = me, counter + 1, moves + 1, handoff cleared; the
// returned lease is the item as written (ALL_NEW), so the taker starts
// from exactly the last successful commit.
func (d *Dynamo) Take(ctx context.Context, l Lease, me string) (Lease, error) {
	cond := "#counter = :c AND "
	vals := map[string]types.AttributeValue{":c": avN(l.Counter), ":me": avS(me), ":one": avN(1)}
	if l.Owner == "" {
		cond += "attribute_not_exists(#owner)"
	} else {
		cond += "#owner = :owner"
		vals[":owner"] = avS(l.Owner)
	}
	out, err := d.updateLease(ctx, "take", l, "SET #owner = :me, #counter = #counter + :one, moves = moves + :one REMOVE handoff", cond, vals, types.ReturnValueAllNew)
	if err != nil {
		return Lease{}, err
	}
	got, err := leaseFromItem(out.Attributes)
	if err != nil {
		return Lease{}, fmt.Errorf("dynamodb: take: %w", err)
	}
	return got, nil
}

// Commit implements LeaseTable: owner = me AND counter = held.Counter AND
// epoch < epoch -> epoch, checkpoint, moves = 0. This write is the commit
// point of the epoch for the lease. A commit of an epoch not above the
// committed one fails the same condition and is ErrFenced too: nothing in
// the item says which part failed, and either way it must leave no trace.
func (d *Dynamo) Commit(ctx context.Context, held Lease, me string, epoch uint64, checkpoint []byte) error {
	update := "SET epoch = :n, moves = :zero"
	vals := map[string]types.AttributeValue{":c": avN(held.Counter), ":me": avS(me), ":n": avU(epoch), ":zero": avN(0)}
	if len(checkpoint) > 0 {
		update += ", checkpoint = :cp"
		vals[":cp"] = &types.AttributeValueMemberB{Value: checkpoint}
	} else {
		// An empty binary value is not accepted everywhere; no attribute
		// reads back as an empty checkpoint.
		update += " REMOVE checkpoint"
	}
	_, err := d.updateLease(ctx, fmt.Sprintf("commit epoch %d of", epoch), held, update, "#owner = :me AND #counter = :c AND epoch < :n", vals, types.ReturnValueNone)
	return err
}

// Release implements LeaseTable: owner = me AND counter = held.Counter ->
// owner = to (or none), counter + 1, handoff cleared.
func (d *Dynamo) Release(ctx context.Context, held Lease, me, to string) error {
	vals := map[string]types.AttributeValue{":c": avN(held.Counter), ":me": avS(me), ":one": avN(1)}
	update := "SET #counter = #counter + :one"
	if to != "" {
		update += ", #owner = :to REMOVE handoff"
		vals[":to"] = avS(to)
	} else {
		update += " REMOVE #owner, handoff"
	}
	_, err := d.updateLease(ctx, "release", held, update, "#owner = :me AND #counter = :c", vals, types.ReturnValueNone)
	return err
}

// AskHandoff implements LeaseTable: handoff = me, conditional on the lease
// still being held as l says (owner and counter), so an ask never lands on
// a holding the asker did not see. ErrFenced if it moved meanwhile.
func (d *Dynamo) AskHandoff(ctx context.Context, l Lease, me string) error {
	if l.Owner == "" {
		return fmt.Errorf("ask handoff of lease %s: nobody holds it; take it instead", l.ID())
	}
	vals := map[string]types.AttributeValue{":me": avS(me), ":owner": avS(l.Owner), ":c": avN(l.Counter)}
	_, err := d.updateLease(ctx, "ask handoff of", l, "SET handoff = :me", "#owner = :owner AND #counter = :c", vals, types.ReturnValueNone)
	return err
}

// updateLease is the one conditional UpdateItem every lease transition
// makes: #owner and #counter name the attributes (both are reserved
// words), and a failed condition is ErrFenced (leaseWriteErr).
func (d *Dynamo) updateLease(ctx context.Context, op string, l Lease, update, cond string, vals map[string]types.AttributeValue, ret types.ReturnValue) (*dynamodb.UpdateItemOutput, error) {
	cctx, cancel := d.call(ctx)
	defer cancel()
	out, err := d.c.UpdateItem(cctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       itemKey(pkLeasePrefix+l.Group, l.Key),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner", "#counter": "counter"},
		ExpressionAttributeValues: vals,
		ReturnValues:              ret,
	})
	if err != nil {
		return nil, leaseWriteErr(op, l.ID(), err)
	}
	return out, nil
}

// Drop implements LeaseTable.
func (d *Dynamo) Drop(ctx context.Context, group, k string) error {
	cctx, cancel := d.call(ctx)
	defer cancel()
	if _, err := d.c.DeleteItem(cctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.table), Key: itemKey(pkLeasePrefix+group, k)}); err != nil {
		return fmt.Errorf("dynamodb: drop lease %s: %w", Lease{Group: group, Key: k}.ID(), err)
	}
	return nil
}

// Catalog.

// catalogSK zero-pads the version so the sort key orders like the number.
func catalogSK(version int64) string { return fmt.Sprintf("%020d", version) }

// AppendCatalog implements CatalogLog: a PutItem conditional on the
// version not existing yet.
func (d *Dynamo) AppendCatalog(ctx context.Context, version int64, stmt string) error {
	if version < 1 {
		return fmt.Errorf("append catalog version %d: versions start at 1", version)
	}
	item := itemKey(pkCatalog, catalogSK(version))
	item["version"], item["stmt"] = avN(version), avS(stmt)
	cctx, cancel := d.call(ctx)
	defer cancel()
	_, err := d.c.PutItem(cctx, &dynamodb.PutItemInput{
		TableName:           aws.String(d.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("append catalog version %d: %w", version, ErrVersionTaken)
	}
	if err != nil {
		return fmt.Errorf("dynamodb: append catalog version %d: %w", version, err)
	}
	return nil
}

// CatalogAfter implements CatalogLog: one Query (paged), ascending.
func (d *Dynamo) CatalogAfter(ctx context.Context, version int64) ([]CatalogEntry, error) {
	items, err := d.query(ctx, pkCatalog, catalogSK(max(version, 0)), false)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: read catalog after version %d: %w", version, err)
	}
	entries := make([]CatalogEntry, 0, len(items))
	for _, it := range items {
		v, err := attrN(it, "version")
		if err != nil {
			return nil, fmt.Errorf("dynamodb: catalog item %s: %w", attrS(it, attrSK), err)
		}
		entries = append(entries, CatalogEntry{Version: v, Stmt: attrS(it, "stmt")})
	}
	return entries, nil
}

// query reads every item of partition pk (with sk > after when after is
// set), ascending unless desc, following pages. Reads are strongly
// consistent: a node deciding about leases must see the latest writes.
func (d *Dynamo) query(ctx context.Context, pk, after string, desc bool) ([]map[string]types.AttributeValue, error) {
	cond := "pk = :pk"
	vals := map[string]types.AttributeValue{":pk": avS(pk)}
	if after != "" {
		cond += " AND sk > :after"
		vals[":after"] = avS(after)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(d.table),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeValues: vals,
		ConsistentRead:            aws.Bool(true),
		ScanIndexForward:          aws.Bool(!desc),
	}
	var items []map[string]types.AttributeValue
	pages := dynamodb.NewQueryPaginator(d.c, in)
	for pages.HasMorePages() {
		cctx, cancel := d.call(ctx)
		out, err := pages.NextPage(cctx)
		cancel()
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
	}
	return items, nil
}

// scanPrefix reads every item whose pk begins with prefix, following pages.
func (d *Dynamo) scanPrefix(ctx context.Context, prefix string) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(d.table),
		FilterExpression:          aws.String("begins_with(pk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":prefix": avS(prefix)},
		ConsistentRead:            aws.Bool(true),
	}
	var items []map[string]types.AttributeValue
	pages := dynamodb.NewScanPaginator(d.c, in)
	for pages.HasMorePages() {
		cctx, cancel := d.call(ctx)
		out, err := pages.NextPage(cctx)
		cancel()
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
	}
	return items, nil
}
