"""`GET /`: a small try-it page. It holds no model facts itself: its script reads `/schema` (sending the
token typed into it, when the endpoint needs one), builds a form with one field per raw input column, and
posts the row to `/invocations`."""

from __future__ import annotations

from designer.core.report_html import esc

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#1f2937;max-width:760px}}
label{{display:block;margin:6px 0 2px;font-weight:600}} input,select{{font-size:14px;padding:3px;min-width:260px}}
.null{{font-weight:normal;color:#64748b;margin-left:8px}} pre{{background:#f1f5f9;padding:8px;white-space:pre-wrap}}
button{{margin-top:12px;font-size:14px;padding:4px 14px}} .muted{{color:#64748b}}
</style></head><body>
<h1>{title}</h1>
<p class="muted">Fill in one raw row and send it to <code>POST /invocations</code> (MLflow's
<code>dataframe_records</code> format). The same cleaning as in training is applied.</p>
<p id="tokenrow"><label for="token">Token (only when the endpoint needs one)</label>
<input id="token" type="password" autocomplete="off"> <button type="button" id="load">Load form</button></p>
<form id="form"></form>
<button type="button" id="send">Predict</button>
<h3>Answer</h3><pre id="out">-</pre>
<script>
const headers = () => {{
  const h = {{"Content-Type": "application/json"}};
  const t = document.getElementById("token").value;
  if (t) h["Authorization"] = "Bearer " + t;
  return h;
}};
let schema = null;
async function load() {{
  const r = await fetch("schema", {{headers: headers()}});
  const out = document.getElementById("out");
  if (!r.ok) {{ out.textContent = r.status + " " + await r.text(); return; }}
  schema = await r.json();
  const form = document.getElementById("form");
  form.replaceChildren();
  for (const [name, spec] of Object.entries(schema.properties)) {{
    const label = document.createElement("label");
    label.textContent = name + " (" + spec.description + ")";
    form.appendChild(label);
    let field;
    if (spec.enum) {{
      field = document.createElement("select");
      for (const v of spec.enum) {{
        const o = document.createElement("option");
        o.value = JSON.stringify(v); o.textContent = v === null ? "(missing)" : v;
        field.appendChild(o);
      }}
    }} else {{
      field = document.createElement("input");
      const types = spec.type || [];
      field.type = types.includes("number") ? "number" : "text";
      field.step = "any";
      if (spec.examples && spec.examples.length) field.placeholder = "e.g. " + spec.examples[0];
    }}
    field.dataset.name = name;
    field.dataset.kind = (spec.type || []).includes("number") ? "number" : "text";
    form.appendChild(field);
  }}
}}
async function send() {{
  if (!schema) await load();
  const row = {{}};
  for (const f of document.querySelectorAll("#form [data-name]")) {{
    let v;
    if (f.tagName === "SELECT") v = JSON.parse(f.value);
    else if (f.value === "") v = null;
    else v = f.dataset.kind === "number" ? Number(f.value) : f.value;
    row[f.dataset.name] = v;
  }}
  const r = await fetch("invocations", {{method: "POST", headers: headers(),
                                         body: JSON.stringify({{dataframe_records: [row]}})}});
  document.getElementById("out").textContent = r.status + "\\n" + JSON.stringify(await r.json(), null, 2);
}}
document.getElementById("load").onclick = load;
document.getElementById("send").onclick = send;
load();
</script></body></html>
"""


def try_it_page(title: str) -> str:
    return PAGE.format(title=esc(title))
