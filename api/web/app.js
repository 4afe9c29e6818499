// GuideQA web page: ask, follow up, and read the exact passage behind each citation.
(function () {
  "use strict";
  const $ = (selector) => document.querySelector(selector);
  // epoch: bumped by "New conversation", so an answer still arriving is dropped
  const state = { conversationId: null, turns: 0, recording: false, epoch: 0, busy: false };
  const recordPage = document.body.dataset.page === "record";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // only web links: a javascript: URL in a document's metadata must not run in this page
  function safeUrl(url) { return /^https?:\/\//i.test(url || "") ? url : null; }

  function citeButtons(numbers, references) {
    return numbers.map((n) => {
      const button = el("button", { type: "button", class: "cite", "data-n": String(n), title: "Show the cited passage" }, `[${n}]`);
      button.addEventListener("mouseenter", () => showPassage(button, references[n]));
      button.addEventListener("focus", () => showPassage(button, references[n]));
      button.addEventListener("click", (event) => { event.stopPropagation(); showPassage(button, references[n]); });
      return button;
    });
  }

  function describe(ref) {
    const parts = [ref.title];
    const who = [ref.issuer, ref.year].filter(Boolean).join(", ");
    if (who) parts.push(who);
    let where = ref.section;
    if (ref.pages) where += ref.pages[0] === ref.pages[1] ? `, p. ${ref.pages[0]}` : `, pp. ${ref.pages[0]}-${ref.pages[1]}`;
    parts.push(where);
    if (ref.identifier) parts.push(ref.kind === "label" ? `DailyMed set id ${ref.identifier}` : ref.identifier);
    return parts.join(". ");
  }

  // `span`: [start, end) of the passage that supports a generated sentence, highlighted
  function showPassage(anchor, ref, span) {
    if (!ref) return;
    const box = $("#passage");
    const meta = box.querySelector(".passage-meta");
    meta.replaceChildren(`[${ref.n}] ${describe(ref)}`);
    if (safeUrl(ref.url)) meta.append(" ", el("a", { href: safeUrl(ref.url), target: "_blank", rel: "noopener" }, "source"));
    if (ref.note) meta.append(el("div", { class: "note" }, ref.note));
    const text = box.querySelector(".passage-text");
    if (span && span.start >= 0 && span.end <= ref.passage.length && span.start < span.end) {
      text.replaceChildren(ref.passage.slice(0, span.start),
        el("mark", {}, ref.passage.slice(span.start, span.end)), ref.passage.slice(span.end));
    } else {
      text.textContent = ref.passage;
    }
    box.hidden = false;
    const rect = anchor.getBoundingClientRect();
    box.style.top = `${window.scrollY + rect.bottom + 6}px`;
    box.style.left = `${Math.max(8, Math.min(window.scrollX + rect.left - 40, window.innerWidth - box.offsetWidth - 12))}px`;
  }

  function hidePassage() { $("#passage").hidden = true; }

  async function sendFeedback(answerId, body, status) {
    try {
      const response = await fetch(`v1/answers/${encodeURIComponent(answerId)}/feedback`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const reply = await response.json();
      status.textContent = response.ok ? "Thank you: your feedback was recorded." : (reply.detail || "Feedback failed.");
    } catch (err) {
      status.textContent = `Feedback failed: ${err.message}`;
    }
  }

  function reportButton(answerId, index, status) {
    const button = el("button", { type: "button", class: "report", title: "Report this statement as wrong" }, "Report");
    button.addEventListener("click", () => {
      const comment = window.prompt("What is wrong with this statement? (optional)");
      if (comment !== null) sendFeedback(answerId, { statement: index, problem: "wrong", comment }, status);
    });
    return button;
  }

  function feedbackBar(answer, status) {
    const yes = el("button", { type: "button", class: "secondary helpful" }, "Helpful");
    const no = el("button", { type: "button", class: "secondary not-helpful" }, "Not helpful");
    const missing = el("button", { type: "button", class: "secondary missing" }, "Something missing");
    yes.addEventListener("click", () => sendFeedback(answer.answer_id, { helpful: true }, status));
    no.addEventListener("click", () => sendFeedback(answer.answer_id, { helpful: false }, status));
    missing.addEventListener("click", () => {
      const comment = window.prompt("What is missing from this answer?");
      if (comment) sendFeedback(answer.answer_id, { problem: "missing", comment }, status);
    });
    const link = el("a", { href: `a/${encodeURIComponent(answer.answer_id)}`, class: "permalink" }, "Permalink");
    return el("div", { class: "feedback" }, "Was this answer useful? ", yes, " ", no, " ", missing, " · ", link, status);
  }

  const KIND_NAMES = { guideline: "Guideline", label: "FDA label", research: "Research" };

  // Where sources differ: one small table per quantity, under the bottom line.
  function discrepancyTable(discrepancy, references) {
    const head = el("tr", {}, ...["Source", "Value", "For", "Kind", "Year"].map((h) => el("th", { scope: "col" }, h)));
    const rows = discrepancy.values.map((v) => el("tr", {},
      el("td", {}, v.source, " ", ...citeButtons([v.citation], references)),
      el("td", { title: v.statement }, discrepancy.measure_kind === "direction" ? `${v.normalised} (${v.value})` : v.value),
      el("td", {}, v.applies_to),
      el("td", {}, KIND_NAMES[v.kind] || v.kind),
      el("td", {}, v.year ? String(v.year) : "-")));
    return el("section", { class: "discrepancy", role: "note" },
      el("h3", {}, "Where sources differ: ", discrepancy.quantity),
      el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
  }

  function bottomLineNode(summary, references) {
    const bottom = el("p", { class: "bottom-line" });
    for (const piece of summary.split(/(\[\d+\])/)) {
      const match = /^\[(\d+)\]$/.exec(piece);
      if (match) bottom.append(...citeButtons([Number(match[1])], references));
      else if (piece) bottom.append(piece);
    }
    return bottom;
  }

  // `feedback`: { answerId, status, position } when statements can be reported, else null
  function sectionNode(section, references, feedback) {
    const list = el("ul");
    for (const statement of section.statements) {
      const tag = statement.population
        ? el("span", { class: "tag", title: "Applies only to this population" }, statement.population.label)
        : null;
      const failed = statement.verified === false;
      const words = failed
        ? el("del", { title: `Not shown as evidence: ${statement.failed_reason || "failed verification"}` }, statement.text)
        : el("span", { class: statement.verified ? "verified" : "" }, statement.text);
      if (statement.support) {
        // a generated sentence: hovering it shows the span of its passage that supports it
        words.addEventListener("mouseenter", () => showPassage(words, references[statement.support.n], statement.support));
      }
      const item = el("li", { class: failed ? "failed" : "" }, tag, tag ? " " : null, words, " ", ...citeButtons(statement.citations, references));
      if (failed) item.append(" ", el("span", { class: "failed-reason" }, `(${statement.failed_reason})`));
      if (feedback) {
        item.append(" ", reportButton(feedback.answerId, feedback.position, feedback.status));
        feedback.position += 1;
      }
      if (statement.items && statement.items.length) {
        item.append(el("ul", { class: "items" }, ...statement.items.map((text) => el("li", {}, text))));
      }
      list.append(item);
    }
    return el("section", { class: "answer-section", "data-kind": section.kind }, el("h3", {}, section.title), list);
  }

  function askedNodes(answer) {
    const nodes = [el("p", { class: "asked" }, "Q: ", answer.question)];
    if (answer.interpreted_question !== answer.question) {
      nodes.push(el("p", { class: "interpreted" }, "Interpreted as: ", answer.interpreted_question));
    }
    return nodes;
  }

  function renderAnswer(answer) {
    const status = el("span", { class: "feedback-status", role: "status" });
    const canReport = !recordPage && state.recording && answer.answer_id;
    const feedback = canReport ? { answerId: answer.answer_id, status, position: 0 } : null;
    const references = Object.fromEntries(answer.references.map((r) => [r.n, r]));
    const turn = el("article", { class: "turn" + (answer.abstained ? " abstained" : "") }, ...askedNodes(answer));
    turn.append(bottomLineNode(answer.summary, references));
    if (answer.composer_note) turn.append(el("p", { class: "composer-note", role: "note" }, answer.composer_note));
    for (const discrepancy of answer.discrepancies || []) turn.append(discrepancyTable(discrepancy, references));
    for (const section of answer.sections) turn.append(sectionNode(section, references, feedback));
    for (const callout of answer.callouts || []) {
      turn.append(el("aside", { class: "callout", "data-kind": callout.kind, role: "note" },
        el("strong", {}, callout.title), " ", callout.text, " ", ...citeButtons(callout.citations, references)));
    }
    if (answer.gaps.length) {
      const gaps = el("ul", {}, ...answer.gaps.map((g) => el("li", {}, g)));
      turn.append(el("section", { class: "gaps" }, el("h3", {}, answer.abstained ? "No answer: gaps in the indexed evidence" : "Gaps"), gaps));
    }
    if (answer.references.length) {
      const list = el("ol");
      for (const ref of answer.references) {
        const item = el("li", { id: `ref-${state.turns}-${ref.n}` }, describe(ref), ". ");
        if (safeUrl(ref.url)) item.append(el("a", { href: safeUrl(ref.url), target: "_blank", rel: "noopener" }, ref.url));
        if (ref.note) item.append(" ", el("span", { class: "note" }, `(${ref.note})`));
        list.append(item);
      }
      turn.append(el("section", { class: "references" }, el("h3", {}, "References"), list));
    }
    turn.append(el("p", { class: "timing" }, `Index ${answer.index_version} · ${Math.round(answer.timings_ms.total || 0)} ms`));
    if (feedback) turn.append(feedbackBar(answer, status));
    $("#disclaimer").textContent = answer.disclaimer;
    return turn;
  }

  // An answer while it arrives: each part (verified, for a chat model's prose) is shown as
  // its event comes; the whole answer replaces the draft at `done`.
  function draftTurn(start) {
    const writing = start.composer === "generative"
      ? "Writing from the selected passages; each sentence is checked against its passage before it is shown…"
      : "Composing…";
    const body = el("div", { class: "draft-body" });
    const turn = el("article", { class: "turn draft", "aria-busy": "true" }, ...askedNodes(start), body,
      el("p", { class: "writing", role: "status" }, writing));
    return { turn, body, references: {} };
  }

  function applyPart(draft, name, data) {
    for (const ref of data.references || []) draft.references[ref.n] = ref;
    if (name === "bottom_line") draft.body.append(bottomLineNode(data.summary, draft.references));
    else if (name === "discrepancy") draft.body.append(discrepancyTable(data, draft.references));
    else if (name === "section") draft.body.append(sectionNode(data, draft.references, null));
    else if (name === "fallback") {
      // what was shown is withdrawn: the extractive answer follows, numbered afresh
      for (const n of Object.keys(draft.references)) delete draft.references[n];
      draft.body.replaceChildren(el("p", { class: "composer-note", role: "note" }, data.composer_note));
    }
  }

  // Server-Sent Events from a fetch body: calls onEvent(name, data) for each frame; an error
  // thrown by onEvent stops reading.
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message";
          const data = [];
          for (const line of frame.split("\n")) {
            const field = /^(event|data):\s?(.*)$/.exec(line);
            if (field && field[1] === "event") name = field[2];
            else if (field) data.push(field[2]);
          }
          onEvent(name, data.length ? JSON.parse(data.join("\n")) : null);
        }
      }
    } catch (err) {
      reader.cancel().catch(() => {});
      throw err;
    }
  }

  async function ask(question, button) {
    const error = $("#error");
    error.hidden = true;
    button.disabled = true;
    state.busy = true;
    let draft = null;
    const epoch = state.epoch;
    try {
      const response = await fetch("v1/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ question, conversation_id: state.conversationId }),
      });
      if (!response.ok) {
        const body = await response.json();
        throw new Error(body.detail || body.title || `request failed (${response.status})`);
      }
      let answer = null;
      await readEvents(response, (name, data) => {
        if (state.epoch !== epoch) throw new Error("");  // a new conversation was started
        if (name === "error") throw new Error(data.detail);
        if (name === "done") { answer = data; return; }
        if (!draft) {
          draft = draftTurn(name === "start" ? data : { question, interpreted_question: question });
          $("#conversation").append(draft.turn);
        }
        if (name !== "start") applyPart(draft, name, data);
      });
      if (!answer) throw new Error("the answer stopped before it was complete: ask again");
      state.conversationId = answer.conversation_id;
      state.turns += 1;
      const rendered = renderAnswer(answer);
      if (draft) draft.turn.replaceWith(rendered);
      else $("#conversation").append(rendered);
      $("#followup-form").hidden = false;
      return true;
    } catch (err) {
      if (draft) draft.turn.remove();
      if (state.epoch !== epoch) return false;  // the question belongs to a cleared conversation
      error.textContent = err.message;
      error.hidden = false;
      return false;
    } finally {
      button.disabled = false;
      state.busy = false;
    }
  }

  function wireAskPage() {
    $("#ask-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const question = $("#question").value.trim();
      if (!question || state.busy) return;  // Enter while an answer is still arriving
      state.conversationId = null;
      $("#conversation").replaceChildren();
      await ask(question, $("#ask-button"));
    });

    $("#followup-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const question = $("#followup").value.trim();
      if (!question || state.busy) return;
      if (await ask(question, $("#followup-button"))) $("#followup").value = "";
    });

    // Enter asks (as in chat tools); Shift+Enter starts a new line.
    for (const box of [$("#question"), $("#followup")]) {
      box.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          box.form.requestSubmit();
        }
      });
    }

    $("#new-conversation").addEventListener("click", () => {
      state.epoch += 1;
      state.conversationId = null;
      state.turns = 0;
      $("#conversation").replaceChildren();
      $("#followup-form").hidden = true;
      $("#question").value = "";
      $("#question").focus();
      hidePassage();
    });
  }

  $("#passage .close").addEventListener("click", hidePassage);
  document.addEventListener("click", (event) => { if (!$("#passage").contains(event.target)) hidePassage(); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") hidePassage(); });

  async function showRecord() {
    const answerId = decodeURIComponent(location.pathname.split("/").pop());
    const error = $("#error");
    const token = sessionStorage.getItem("guideqa-read-token");
    if (!token) { $("#token-form").hidden = false; return; }
    try {
      const response = await fetch(`../v1/answers/${encodeURIComponent(answerId)}`, {
        headers: { Accept: "application/json", Authorization: `Bearer ${token}` },
      });
      const record = await response.json();
      if (!response.ok) {
        if (response.status === 401) sessionStorage.removeItem("guideqa-read-token");
        throw new Error(record.detail || `request failed (${response.status})`);
      }
      const given = new Date(record.created);
      $("#banner").textContent = `This answer was given on ${given.toISOString().slice(0, 16).replace("T", " ")} UTC from index ${record.index_version}. It is a record: ask again on the main page for today's answer.`;
      $("#banner").hidden = false;
      $("#conversation").replaceChildren(renderAnswer(record.answer));
      $("#token-form").hidden = true;
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      $("#token-form").hidden = false;
    }
  }

  if (recordPage) {
    $("#token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem("guideqa-read-token", $("#token").value.trim());
      $("#error").hidden = true;
      showRecord();
    });
    showRecord();
  } else {
    wireAskPage();
    fetch("readyz").then((r) => r.json()).then((ready) => {
      state.recording = Boolean(ready.recording);
      const counts = ready.counts_by_kind || {};
      $("#index-status").textContent = `Index ${ready.index_version}: ${counts.guideline || 0} guidelines, ${counts.label || 0} drug labels, ${counts.research || 0} research abstracts.`;
    }).catch(() => { $("#index-status").textContent = "Index status unavailable."; });
  }
})();
