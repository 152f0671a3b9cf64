package schema

// Override returns detected with the attributes of file taking precedence:
// a schema file fixes the types of the attributes it lists, and detection
// fills in the rest. Attributes only in file are kept (they may occur in
// later exports); attributes only in detected keep their detected type.
// The key is file's when it names one.
func Override(detected, file *Schema) *Schema {
	out := &Schema{Key: detected.Key, Pinned: file.Pinned}
	if len(file.Key) > 0 {
		out.Key = file.Key
	}
	out.Fields = append(out.Fields, file.Fields...)
	for _, f := range detected.Fields {
		if file.Field(f.Name) == nil {
			f.Column = "" // re-assigned below, avoiding the file's columns
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}
