// The web page's behaviour: ask, show the cited answer with its quote highlighted in the
// source paragraph, list the passages, and add or delete documents. No build step and no
// libraries. Document and user text only ever reaches the page as text nodes
// (textContent / append of strings), never as HTML.
"use strict";

const KEY_STORAGE = "qa-api-key";
const TOP_K = 5;
const $ = (id) => document.getElementById(id);
let askSequence = 0;

// ---- small helpers -------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// Persian first, then the English isolated in its own LTR span, so neither reorders the other.
function bilingual(persian, english) {
  return [persian, " · ", el("span", { lang: "en", dir: "ltr" }, english)];
}

function storedKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

function storeKey(value) {
  try {
    if (value) localStorage.setItem(KEY_STORAGE, value);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Private windows may refuse storage: the key then lasts for this page only.
  }
}

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = $("api-key").value.trim();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch {
    throw new ApiError("The server cannot be reached; is `qa serve` running?", 0);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : `${response.status} ${response.statusText}`;
    throw new ApiError(detail, response.status);
  }
  return body;
}

function explain(error) {
  if (error instanceof ApiError && error.status === 401) {
    $("api-key-box").open = true;
    $("api-key").focus();
  }
  return error instanceof Error ? error.message : String(error);
}

function showError(...message) {
  $("error").replaceChildren(...message);
  $("error").hidden = message.length === 0;
}

// ---- answers -------------------------------------------------------------------------

const paragraphKey = (docId, n) => `${docId}\u0000${n}`;

// The paragraph with the quote marked. Offsets count Unicode code points (as Python
// does), so the text is sliced as an array of code points, not UTF-16 units.
function markedParagraph(text, citation) {
  const chars = Array.from(text);
  let before = chars.slice(0, citation.start).join("");
  let quote = chars.slice(citation.start, citation.end).join("");
  let after = chars.slice(citation.end).join("");
  if (quote !== citation.quote) {
    const at = text.indexOf(citation.quote);
    [before, quote, after] = at >= 0
      ? [text.slice(0, at), citation.quote, text.slice(at + citation.quote.length)]
      : ["", citation.quote, ""];
  }
  return [before, el("mark", { "data-testid": `mark-${citation.n}` }, quote), after];
}

// Text of every cited paragraph: from the passages, else from GET /documents/{id}.
async function citedParagraphs(answer) {
  const texts = new Map(answer.passages.map((p) => [paragraphKey(p.doc_id, p.paragraph), p.text]));
  const missing = [...new Set(answer.citations
    .filter((c) => !texts.has(paragraphKey(c.doc_id, c.paragraph)))
    .map((c) => c.doc_id))];
  await Promise.all(missing.map(async (docId) => {
    try {
      const body = await api(`/documents/${encodeURIComponent(docId)}`);
      for (const p of body.paragraphs) texts.set(paragraphKey(docId, p.n), p.text);
    } catch {
      // Deleted meanwhile, or unreadable: the citation then shows its quote alone.
    }
  }));
  return texts;
}

function citationLink(n) {
  const link = el("a", { href: `#cite-${n}`, className: "cite-link", "data-testid": `cite-link-${n}` }, `[${n}]`);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const target = $(`cite-${n}`);
    if (!target) return;
    target.scrollIntoView({ behavior: "smooth", block: "center" });
    target.classList.remove("flash");
    void target.offsetWidth; // restart the animation
    target.classList.add("flash");
    target.focus({ preventScroll: true });
  });
  return link;
}

function sourceLine(item) {
  return el(
    "div", { className: "source-line" },
    el("span", { className: "doc-title", dir: "auto" }, item.title || item.doc_id),
    " ",
    el("span", { className: "doc-ref", dir: "ltr" }, `${item.doc_id} ¶${item.paragraph}`),
  );
}

function citationItem(citation, text) {
  const paragraph = el("blockquote", { className: "cited-paragraph", dir: "auto" });
  paragraph.append(...(text === undefined ? ["", el("mark", {}, citation.quote), ""] : markedParagraph(text, citation)));
  const span = el("span", { className: "doc-ref", dir: "ltr" }, `chars ${citation.start}–${citation.end}`);
  return el(
    "li",
    { id: `cite-${citation.n}`, className: "citation", tabindex: "-1", "data-testid": `citation-${citation.n}` },
    el("div", { className: "cite-head" }, el("span", { className: "cite-n" }, `[${citation.n}]`), " ", sourceLine(citation), " ", span),
    paragraph,
  );
}

function passageItem(passage, index, citations) {
  const cited = citations.find((c) => c.doc_id === passage.doc_id && c.paragraph === passage.paragraph);
  const text = el("p", { className: "passage-text", dir: "auto" });
  if (cited) text.append(...markedParagraph(passage.text, cited));
  else text.append(passage.text);
  const score = el("span", { className: "score", dir: "ltr" }, `score ${Number(passage.score).toFixed(3)}`);
  const item = el(
    "li",
    { className: cited ? "passage cited" : "passage", "data-testid": `passage-${index + 1}` },
    el("div", { className: "passage-head" }, sourceLine(passage), cited ? citationLink(cited.n) : null, score),
    text,
  );
  item.dataset.docId = passage.doc_id;
  item.dataset.paragraph = String(passage.paragraph);
  return item;
}

async function renderAnswer(answer, sequence) {
  const texts = await citedParagraphs(answer);
  if (sequence !== askSequence) return;
  $("result").hidden = false;
  $("answer-box").hidden = !answer.answered;
  $("not-found").hidden = answer.answered;
  $("citations-box").hidden = answer.citations.length === 0;
  const answerText = $("answer");
  answerText.replaceChildren();
  if (answer.answered) {
    answerText.append(answer.answer, " ");
    for (const citation of answer.citations) answerText.append(citationLink(citation.n));
  }
  $("answer-meta").textContent = `confidence ${Number(answer.confidence).toFixed(2)} · ${answer.language} · ${Math.round(answer.took_ms)} ms`;
  $("citations").replaceChildren(...answer.citations.map((c) => citationItem(c, texts.get(paragraphKey(c.doc_id, c.paragraph)))));
  $("passages-heading").replaceChildren(...(answer.answered
    ? bilingual("بندهای مرتبط", "Passages")
    : bilingual("نزدیک‌ترین بندها، که پاسخ نیستند", "Closest passages (not answers)")));
  $("passages").replaceChildren(...answer.passages.map((p, i) => passageItem(p, i, answer.citations)));
  $("result").dataset.question = answer.question;
}

async function ask(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) {
    showError(...bilingual("یک پرسش بنویسید", "Type a question first."));
    return;
  }
  const sequence = ++askSequence;
  showError();
  $("ask").disabled = true;
  $("status").replaceChildren(...bilingual("در حال جستجو…", "Searching…"));
  try {
    const answer = await api("/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question, top_k: TOP_K }),
    });
    if (sequence === askSequence) await renderAnswer(answer, sequence);
  } catch (error) {
    if (sequence === askSequence) showError(explain(error));
  } finally {
    if (sequence === askSequence) {
      $("ask").disabled = false;
      $("status").textContent = "";
    }
  }
}

// ---- documents -----------------------------------------------------------------------

function uploadStatus(message, isError = false) {
  $("upload-status").replaceChildren(...(Array.isArray(message) ? message : [message]));
  $("upload-status").classList.toggle("error-text", isError);
}

function documentItem(doc) {
  const remove = el("button", { type: "button", className: "delete", "data-testid": `delete-${doc.id}`, "aria-label": `Delete ${doc.id}` }, ...bilingual("حذف", "Delete"));
  remove.addEventListener("click", () => deleteDocument(doc.id));
  const item = el(
    "li",
    { className: "document" },
    el("div", { className: "doc-info" },
      el("div", { className: "doc-title", dir: "auto" }, doc.title || doc.id),
      el("div", { className: "doc-ref", dir: "ltr" }, `${doc.id} · ${doc.paragraphs} ¶`)),
    remove,
  );
  item.dataset.docId = doc.id;
  return item;
}

async function loadDocuments() {
  try {
    const body = await api("/documents");
    $("documents").replaceChildren(...(body.documents.length
      ? body.documents.map(documentItem)
      : [el("li", { className: "empty" }, ...bilingual("هنوز سندی نیست", "No documents yet."))]));
  } catch (error) {
    $("documents").replaceChildren(el("li", { className: "error-text", dir: "auto" }, explain(error)));
  }
  refreshHealth();
}

async function refreshHealth() {
  try {
    const health = await api("/health");
    $("health").textContent = `${health.model} · ${health.documents} documents · ${health.paragraphs} paragraphs`;
  } catch {
    $("health").textContent = "";
  }
}

async function upload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  if (!file) {
    uploadStatus(bilingual("یک فایل انتخاب کنید", "Choose a file first."), true);
    return;
  }
  const form = new FormData();
  form.append("file", file);
  for (const [field, input] of [["id", "upload-id"], ["title", "upload-title"]]) {
    const value = $(input).value.trim();
    if (value) form.append(field, value);
  }
  $("upload-button").disabled = true;
  uploadStatus(bilingual("در حال بارگذاری و نمایه‌سازی…", "Uploading and indexing…"));
  try {
    const result = await api("/documents", { method: "POST", body: form });
    const more = result.documents.length > 1 ? `, ${result.documents.length} documents` : "";
    uploadStatus(bilingual("ذخیره شد", `stored “${result.id}” (${result.paragraphs} ¶${more})`));
    $("upload-form").reset();
    await loadDocuments();
  } catch (error) {
    uploadStatus(explain(error), true);
  } finally {
    $("upload-button").disabled = false;
  }
}

async function deleteDocument(docId) {
  if (!window.confirm(`سند «${docId}» حذف شود؟\nDelete document “${docId}”?`)) return;
  try {
    await api(`/documents/${encodeURIComponent(docId)}`, { method: "DELETE" });
    uploadStatus(bilingual("حذف شد", `deleted “${docId}”`));
  } catch (error) {
    uploadStatus(explain(error), true);
  }
  await loadDocuments();
}

// ---- start ---------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("api-key").value = storedKey();
  $("api-key").addEventListener("input", (event) => storeKey(event.target.value.trim()));
  $("ask-form").addEventListener("submit", ask);
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("upload-form").addEventListener("submit", upload);
  loadDocuments();
});
