// crank serve: the page.  No external resources; everything goes
// through the JSON API with the bearer token, kept in sessionStorage.
"use strict";

const $ = (id) => document.getElementById(id);
let current = null;	// id of the rule being edited, null for a new one
let version = null;	// version of the source the rules were read from

function token() {
	return sessionStorage.getItem("crank-token") || "";
}

function status(text, ok) {
	const s = $("status");
	s.textContent = text;
	s.className = ok ? "ok" : "error";
}

async function api(method, path, body) {
	const opts = { method: method, headers: { "Authorization": "Bearer " + token() } };
	if (body !== undefined) {
		opts.headers["Content-Type"] = "application/json";
		opts.body = JSON.stringify(body);
	}
	const r = await fetch(path, opts);
	let data = {};
	try {
		data = await r.json();
	} catch (e) {
		data = { error: "not JSON: " + e };
	}
	return { status: r.status, data: data };
}

function diagLines(d) {
	return (d || []).map((x) => x.line ? `${x.file}:${x.line}:${x.col}: ${x.severity}: ${x.message}`
		: `${x.file}: ${x.severity}: ${x.message}`);
}

function show(lines) {
	$("output").textContent = lines.join("\n");
}

function failed(what, r) {
	status(`${what}: ${r.data.error || "HTTP " + r.status}`, false);
	show(diagLines(r.data.diagnostics));
}

async function loadRules(select) {
	const r = await api("GET", "/api/rules");
	if (r.status !== 200) {
		failed("rules", r);
		return;
	}
	version = r.data.version;
	$("source").textContent = r.data.path;
	const ul = $("rules");
	ul.replaceChildren();
	for (const rule of r.data.rules) {
		const li = document.createElement("li");
		li.textContent = rule.id;
		li.dataset.id = rule.id;
		li.addEventListener("click", () => edit(rule));
		if (rule.id === select)
			li.className = "current";
		ul.appendChild(li);
	}
	const sel = r.data.rules.find((x) => x.id === select);
	if (sel)
		edit(sel);
}

function edit(rule) {
	current = rule ? rule.id : null;
	$("rule-id").textContent = rule ? rule.id : "(new)";
	$("rule-text").value = rule ? rule.text : "";
	for (const li of $("rules").children)
		li.className = li.dataset.id === current ? "current" : "";
}

async function save() {
	const body = { text: $("rule-text").value, version: version };
	if (current !== null)
		body.id = current;
	const r = await api("PUT", "/api/rule", body);
	if (r.status !== 200) {
		failed("save", r);
		return;
	}
	const first = $("rule-text").value.trim().split("\n")[0];
	status("saved", true);
	show(diagLines(r.data.diagnostics));
	await loadRules(null);
	// select the saved rule again: its id is its head line
	for (const li of $("rules").children)
		if (first.startsWith(li.dataset.id))
			li.click();
}

async function remove() {
	if (current === null)
		return;
	const q = "?id=" + encodeURIComponent(current) + "&version=" + encodeURIComponent(version);
	const r = await api("DELETE", "/api/rule" + q);
	if (r.status !== 200) {
		failed("delete", r);
		return;
	}
	status("deleted " + current, true);
	edit(null);
	await loadRules(null);
}

async function check() {
	const r = await api("POST", "/api/check", {});
	if (r.status !== 200) {
		failed("check", r);
		return;
	}
	status(r.data.ok ? `check: fine, ${r.data.records} records, ${r.data.warnings} warnings`
		: `check: ${r.data.errors} errors`, r.data.ok);
	show(diagLines(r.data.diagnostics));
}

function counts(c, apply) {
	const s = `${c.add} to add, ${c.modify} to modify, ${c.replace} to replace, ${c.delete} to delete, ${c.unchanged} unchanged`;
	return apply ? `apply: ${c.add} added, ${c.modify} modified, ${c.replace} replaced, ${c.delete} deleted, ${c.unchanged} unchanged, ${c.failed} failed`
		: "plan: " + s;
}

async function plan() {
	const r = await api("POST", "/api/plan", {});
	if (r.status !== 200) {
		failed("plan", r);
		return;
	}
	const lines = [];
	for (const c of r.data.changes) {
		lines.push(`${c.op} ${c.label}`, `    dn: ${c.dn}`);
		for (const a of c.attrs)
			lines.push(`    ${a.type}: ${a.before} -> ${a.after}`);
		if (c.was !== null)
			lines.push(`    was: ${c.was}`, `    now: ${c.now}`);
	}
	lines.push(counts(r.data.counts, false));
	status(counts(r.data.counts, false), true);
	show(lines);
}

async function apply() {
	const r = await api("POST", "/api/apply", {});
	if (r.status !== 200) {
		failed("apply", r);
		return;
	}
	const lines = r.data.results.map((x) => x.ok ? `${x.op} ${x.label}: ok`
		: `${x.op} ${x.label}: FAILED: ${x.error}`);
	lines.push(counts(r.data.counts, true));
	status(counts(r.data.counts, true), r.data.counts.failed === 0);
	show(lines);
	await entries();
}

async function entries() {
	const r = await api("GET", "/api/entries");
	const body = $("entries").tBodies[0];
	body.replaceChildren();
	if (r.status !== 200) {
		failed("entries", r);
		return;
	}
	for (const e of r.data.entries) {
		const tr = document.createElement("tr");
		const a = document.createElement("td");
		const b = document.createElement("td");
		a.textContent = e.policy ? e.label : e.dn;
		a.title = e.dn;
		b.textContent = e.record + (e.valexp ? ` [valexp ${e.valexp}]` : "");
		tr.append(a, b);
		body.appendChild(tr);
	}
}

async function connect() {
	const t = $("token").value.trim();
	if (t)
		sessionStorage.setItem("crank-token", t);
	$("token").value = "";
	await loadRules(current);
	await entries();
}

function guard(f) {
	return () => f().catch((e) => status("error: " + e, false));
}

document.addEventListener("DOMContentLoaded", () => {
	const m = /^#token=([A-Za-z0-9._~-]+)$/.exec(location.hash);
	if (m) {
		sessionStorage.setItem("crank-token", m[1]);
		history.replaceState(null, "", location.pathname);
	}
	$("connect").addEventListener("click", guard(connect));
	$("new").addEventListener("click", () => edit(null));
	$("save").addEventListener("click", guard(save));
	$("delete").addEventListener("click", guard(remove));
	$("check").addEventListener("click", guard(check));
	$("plan").addEventListener("click", guard(plan));
	$("apply").addEventListener("click", guard(apply));
	$("refresh").addEventListener("click", guard(entries));
	if (token())
		guard(connect)();
});
