// Package tableinfo describes a floe table: where its metadata is, its
// schema and partitioning, and its snapshots with their floe markers.
package tableinfo

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/iceberg-go/table"
)

// Info is what `floe table info` prints; its JSON form is stable.
type Info struct {
	Table            string            `json:"table"`
	MetadataLocation string            `json:"metadataLocation"`
	Location         string            `json:"location"`
	FormatVersion    int               `json:"formatVersion"`
	Schema           json.RawMessage   `json:"schema"`
	SchemaText       string            `json:"-"`
	PartitionSpec    string            `json:"partitionSpec"`
	Properties       map[string]string `json:"properties"`
	CurrentSnapshot  *int64            `json:"currentSnapshotId,omitempty"`
	Snapshots        []Snapshot        `json:"snapshots"`
}

// Snapshot is one snapshot and the floe marker in its summary, if any.
type Snapshot struct {
	ID        int64             `json:"id"`
	ParentID  *int64            `json:"parentId,omitempty"`
	Timestamp time.Time         `json:"timestamp"`
	Operation string            `json:"operation"`
	Summary   map[string]string `json:"summary"`
	Marker    map[string]string `json:"floe,omitempty"`
}

// Describe gathers the Info of a table.
func Describe(name string, tbl *table.Table) (*Info, error) {
	meta := tbl.Metadata()
	sj, err := json.Marshal(tbl.Schema())
	if err != nil {
		return nil, err
	}
	info := &Info{
		Table: name, MetadataLocation: tbl.MetadataLocation(), Location: tbl.Location(),
		FormatVersion: meta.Version(), Schema: sj, SchemaText: tbl.Schema().String(),
		PartitionSpec: tbl.Spec().String(), Properties: map[string]string{},
	}
	for k, v := range tbl.Properties() {
		info.Properties[k] = v
	}
	if cur := meta.CurrentSnapshot(); cur != nil {
		id := cur.SnapshotID
		info.CurrentSnapshot = &id
	}
	for _, s := range meta.Snapshots() {
		snap := Snapshot{ID: s.SnapshotID, ParentID: s.ParentSnapshotID, Timestamp: time.UnixMilli(s.TimestampMs).UTC(), Summary: map[string]string{}}
		if s.Summary != nil {
			snap.Operation = string(s.Summary.Operation)
			for k, v := range s.Summary.Properties {
				if strings.HasPrefix(k, "floe.") {
					if snap.Marker == nil {
						snap.Marker = map[string]string{}
					}
					snap.Marker[k] = v
				} else {
					snap.Summary[k] = v
				}
			}
		}
		info.Snapshots = append(info.Snapshots, snap)
	}
	return info, nil
}

// WriteJSON writes the info as indented JSON.
func (i *Info) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(i)
}

// WriteText writes the info for people.
func (i *Info) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "table:\t%s\n", i.Table)
	fmt.Fprintf(tw, "metadata:\t%s\n", i.MetadataLocation)
	fmt.Fprintf(tw, "location:\t%s\n", i.Location)
	fmt.Fprintf(tw, "format version:\t%d\n", i.FormatVersion)
	fmt.Fprintf(tw, "partition spec:\t%s\n", i.PartitionSpec)
	tw.Flush()
	fmt.Fprintf(w, "schema:\n%s\n", indent(i.SchemaText))
	fmt.Fprintf(w, "snapshots (%d):\n", len(i.Snapshots))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tTIME\tOPERATION\tLIVE ROWS\tFILES\tDELETE FILES\tEXPORT\tTYPE\tUP TO\tITEMS\tUPSERTS\tDELETES\tRESCUED")
	for _, s := range i.Snapshots {
		m := s.Marker
		kind, upTo := "", m["floe.export-time"]
		switch m["floe.export-type"] {
		case "FULL_EXPORT":
			kind = "full"
		case "INCREMENTAL_EXPORT":
			kind, upTo = "incremental", m["floe.export-to-time"]
		case "DEAD_LETTER_REPLAY":
			kind, upTo = "dlq replay", "-" // outside the chain of exports
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Timestamp.Format(time.RFC3339), s.Operation,
			liveRows(s.Summary), s.Summary["total-data-files"], dash(s.Summary["total-delete-files"]), m["floe.export-id"], kind, upTo,
			m["floe.items"], dash(m["floe.upserts"]), dash(m["floe.deletes"]), m["floe.rescued"])
	}
	tw.Flush()
	var props []string
	for k, v := range i.Properties {
		if k == "floe.schema" {
			continue // long; shown as the schema above and in --json
		}
		props = append(props, fmt.Sprintf("  %s = %s", k, v))
	}
	sort.Strings(props)
	fmt.Fprintf(w, "properties:\n%s\n", strings.Join(props, "\n"))
	return nil
}

// liveRows is the snapshot's row count with position-deleted rows taken
// out (floe never deletes a position twice).
func liveRows(summary map[string]string) string {
	rows, err1 := strconv.ParseInt(summary["total-records"], 10, 64)
	dels, err2 := strconv.ParseInt(summary["total-position-deletes"], 10, 64)
	if err1 != nil {
		return "-"
	}
	if err2 != nil {
		return strconv.FormatInt(rows, 10)
	}
	return strconv.FormatInt(rows-dels, 10)
}

// dash stands in for an empty cell.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ")
}
