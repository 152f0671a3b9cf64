package committer

import (
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
)

func TestParseMergeMode(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    MergeMode
		wantErr string
	}{
		{in: "", want: ""},
		{in: "merge-on-read", want: MergeOnRead},
		{in: "equality-deletes", want: EqualityDeletes},
		{in: "copy-on-write", want: CopyOnWrite},
		{in: "merge-on-write", wantErr: `merge mode "merge-on-write": want one of merge-on-read, equality-deletes, copy-on-write`},
		{in: "MERGE-ON-READ", wantErr: "want one of"},
	} {
		got, err := ParseMergeMode(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseMergeMode(%q) error = %v, want %q", tc.in, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("ParseMergeMode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestCheckEqualityDeletes(t *testing.T) {
	sch := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "pk", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: 2, Name: "sk", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: 3, Name: "status", Type: iceberg.PrimitiveTypes.String},
	)
	field := func(src, id int, tr iceberg.Transform) iceberg.PartitionField {
		return iceberg.PartitionField{SourceIDs: []int{src}, FieldID: id, Name: "p" + tr.String(), Transform: tr}
	}
	for _, tc := range []struct {
		name    string
		fields  []iceberg.PartitionField
		wantErr string
	}{
		{name: "unpartitioned"},
		{name: "bucket of the partition key", fields: []iceberg.PartitionField{field(1, 1000, iceberg.BucketTransform{NumBuckets: 16})}},
		{name: "both key columns", fields: []iceberg.PartitionField{field(1, 1000, iceberg.IdentityTransform{}), field(2, 1001, iceberg.TruncateTransform{Width: 4})}},
		{name: "a column outside the key", fields: []iceberg.PartitionField{field(1, 1000, iceberg.BucketTransform{NumBuckets: 4}), field(3, 1001, iceberg.IdentityTransform{})},
			wantErr: "merge mode equality-deletes: table ddb.orders is partitioned by status, which is not a key column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := iceberg.NewPartitionSpec(tc.fields...)
			err := checkEqualityDeletes("ddb.orders", sch, &spec, []string{"pk", "sk"})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
