// The start of a CSV file read in the browser, for its header: quoted fields (with
// their delimiters, doubled quotes and line breaks), CRLF or LF, a UTF-8 byte order mark.
// The preview itself comes from the server, which reads it with the import's own reader.
const HEAD_BYTES = 64 * 1024;

// Records of `text` (an array of arrays of strings). `complete` says whether the text ends
// where the file ends: if not, the last record may be cut short and is dropped.
export function parseCsv(text, delimiter = ",", { complete = true, limit = Infinity } = {}) {
  const records = [];
  let fields = [];
  let value = "";
  let quoted = false;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  const end = () => { fields.push(value); value = ""; };
  const close = () => { end(); records.push(fields); fields = []; };
  while (i < text.length && records.length < limit) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { value += '"'; i += 2; continue; }
        quoted = false;
      } else {
        value += c;
      }
      i += 1;
    } else if (c === '"' && value === "") {
      quoted = true;
      i += 1;
    } else if (c === delimiter) {
      end();
      i += 1;
    } else if (c === "\r" || c === "\n") {
      close();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      value += c;
      i += 1;
    }
  }
  if (records.length < limit && (value !== "" || fields.length) && complete && !quoted) close();
  // Blank lines are skipped, as the server does.
  return records.filter((r) => !(r.length === 1 && r[0] === ""));
}

// The header and the first `rows` data rows of a File, decoded in `encoding`.
export async function headOf(file, { encoding = "utf-8", delimiter = ",", rows = 20 } = {}) {
  const slice = file.slice(0, HEAD_BYTES);
  const bytes = await slice.arrayBuffer();
  const label = encoding === "latin-1" ? "iso-8859-1" : encoding;
  const text = new TextDecoder(label).decode(bytes);
  const records = parseCsv(text, delimiter, { complete: file.size <= HEAD_BYTES, limit: rows + 1 });
  const [header = [], ...body] = records;
  return { header: header.map((name) => name.trim()), rows: body };
}
