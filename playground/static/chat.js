// The playground chat page: acts as one simulated user at a time through the emulator's /_chat/ API
// and shows the chat as Telegram would (entities, photos, inline buttons, edits in place, reply keyboards).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { userId: null, after: 0, poll: null, users: new Map(), lang: "en" };

// The page's own words, in the chosen user's language (the bot's words come from the bot).
const LABELS = {
  en: {
    subtitle: "local playground: no Telegram, no data leaves this machine",
    chattingAs: "Chatting as", newUser: "New user", name: "Name", add: "Add", typing: "skinbot is typing…",
    message: "Message", send: "Send", photo: "Send a photo (compressed, as Telegram does)",
    file: "Send a file (uncompressed)", edited: "edited",
    empty: "No messages yet. Send /start to begin, or send a photo of one skin spot with the camera button.",
  },
  ko: {
    subtitle: "로컬 플레이그라운드: 텔레그램을 쓰지 않고, 데이터가 이 컴퓨터 밖으로 나가지 않아요",
    chattingAs: "대화하는 사용자", newUser: "새 사용자", name: "이름", add: "추가", typing: "skinbot이 입력 중…",
    message: "메시지", send: "보내기", photo: "사진 보내기(텔레그램처럼 압축해요)",
    file: "파일 보내기(압축하지 않아요)", edited: "수정됨",
    empty: "아직 메시지가 없어요. /start를 보내 시작하거나, 카메라 버튼으로 피부의 점 하나를 찍은 사진을 보내 주세요.",
  },
};
const label = (key) => (LABELS[state.lang] || LABELS.en)[key];

function applyLabels(lang) {
  state.lang = LABELS[lang] ? lang : "en";
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-label]").forEach((el) => { el.textContent = label(el.dataset.label); });
  document.querySelectorAll("[data-placeholder]").forEach((el) => { el.placeholder = label(el.dataset.placeholder); });
  document.querySelectorAll("[data-title]").forEach((el) => {
    el.title = label(el.dataset.title);
    el.setAttribute("aria-label", label(el.dataset.title));
  });
  updateEmptyHint();
}

// An empty chat says what to do first.
function updateEmptyHint() {
  const box = $("messages");
  const hint = box.querySelector(".empty-hint");
  if (box.querySelector(".msg, .error")) {
    if (hint) hint.remove();
    return;
  }
  const fresh = document.createElement("div");
  fresh.className = "empty-hint";
  appendText(fresh, label("empty"));
  if (hint) hint.replaceWith(fresh); else box.append(fresh);
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

const postJson = (path, body) =>
  api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

function showError(text) {
  const el = document.createElement("div");
  el.className = "error";
  el.textContent = text;
  $("messages").append(el);
  updateEmptyHint();
  scrollDown();
}

function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(showToast.timer);
  showToast.timer = setTimeout(() => { toast.hidden = true; }, 2500);
}

function scrollDown() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

// ---- rendering Telegram entities (offsets are UTF-16 units, like JS strings) ----------------------------------

function entityElement(entity) {
  const tags = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
                 blockquote: "blockquote", expandable_blockquote: "blockquote" };
  if (entity.type === "text_link" || entity.type === "url") {
    const a = document.createElement("a");
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }
  if (entity.type === "spoiler") {
    const span = document.createElement("span");
    span.className = "spoiler";
    span.addEventListener("click", () => span.classList.add("shown"));
    return span;
  }
  return document.createElement(tags[entity.type] || "span");
}

// Bot commands in text ("/start", also before a Korean particle: "/forget으로") are tappable, as in Telegram.
const COMMAND = /(^|[\s("'“‘(])(\/[A-Za-z][A-Za-z0-9_]{0,31})(?![A-Za-z0-9_])/g;

function appendText(parent, text) {
  let pos = 0;
  for (const match of text.matchAll(COMMAND)) {
    const start = match.index + match[1].length;
    parent.append(text.slice(pos, start));
    const command = document.createElement("a");
    command.className = "command";
    command.href = "#";
    command.textContent = match[2];
    command.addEventListener("click", (event) => { event.preventDefault(); sendText(match[2]); });
    parent.append(command);
    pos = start + match[2].length;
  }
  parent.append(text.slice(pos));
}

function renderEntities(parent, text, start, end, entities) {
  let pos = start;
  for (let i = 0; i < entities.length; i++) {
    const e = entities[i];
    const eEnd = e.offset + e.length;
    const inner = [];
    while (i + 1 < entities.length && entities[i + 1].offset + entities[i + 1].length <= eEnd) inner.push(entities[++i]);
    appendText(parent, text.slice(pos, e.offset));
    const el = entityElement(e);
    renderEntities(el, text, e.offset, eEnd, inner);
    if (el.tagName === "A") {
      const href = e.url || el.textContent;
      if (/^(https?:|tg:)/i.test(href)) el.href = href;  // never javascript: or data: links
    }
    parent.append(el);
    pos = eEnd;
  }
  appendText(parent, text.slice(pos, end));
}

function formatted(text, entities) {
  const span = document.createElement("span");
  span.className = "text";
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  renderEntities(span, text, 0, text.length, sorted);
  return span;
}

// ---- messages -------------------------------------------------------------------------------------------------

function inlineKeyboard(message) {
  const rows = (message.reply_markup || {}).inline_keyboard || [];
  if (!rows.length) return null;
  const kb = document.createElement("div");
  kb.className = "inline-kb";
  for (const row of rows) {
    const rowEl = document.createElement("div");
    rowEl.className = "row";
    for (const button of row) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = button.text;
      if (button.url && /^(https?:|tg:)/i.test(button.url)) {
        b.addEventListener("click", () => window.open(button.url, "_blank", "noopener"));
      } else if (button.callback_data !== undefined) {
        b.dataset.callback = button.callback_data;
        b.addEventListener("click", () => press(message.message_id, button.callback_data));
      }
      rowEl.append(b);
    }
    kb.append(rowEl);
  }
  return kb;
}

function messageElement(message) {
  const el = document.createElement("div");
  el.className = `msg ${message.from.is_bot ? "bot" : "user"}`;
  el.dataset.messageId = message.message_id;
  if (message.photo) {
    const sizes = message.photo.filter((p) => Math.max(p.width, p.height) <= 800);
    const img = document.createElement("img");
    img.alt = "photo";
    img.src = `/_chat/file/${encodeURIComponent((sizes.at(-1) || message.photo[0]).file_id)}`;
    el.append(img);
  }
  if (message.document) {
    const doc = document.createElement("div");
    doc.className = "doc";
    doc.textContent = `📄 ${message.document.file_name} (${Math.ceil(message.document.file_size / 1024)} KB)`;
    el.append(doc);
  }
  if (message.text !== undefined) el.append(formatted(message.text, message.entities));
  if (message.caption) el.append(formatted(message.caption, message.caption_entities));
  const kb = inlineKeyboard(message);
  if (kb) el.append(kb);
  const meta = document.createElement("div");
  meta.className = "meta";
  const time = new Date(message.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.textContent = message.edit_date ? `${label("edited")} ${time}` : time;
  el.append(meta);
  return el;
}

function findMessage(id) {
  return $("messages").querySelector(`.msg[data-message-id="${id}"]`);
}

function replyKeyboard(markup) {
  const box = $("reply-keyboard");
  if (!markup) return;
  box.replaceChildren();
  box.hidden = !markup.keyboard;
  for (const row of markup.keyboard || []) {
    const rowEl = document.createElement("div");
    rowEl.className = "row";
    for (const button of row) {
      const label = typeof button === "string" ? button : button.text;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", () => {
        if (markup.one_time_keyboard) box.hidden = true;
        sendText(label);
      });
      rowEl.append(b);
    }
    box.append(rowEl);
  }
}

function applyEvent(event, replay = false) {
  state.after = Math.max(state.after, event.seq);
  if (event.kind === "message") {
    $("messages").append(messageElement(event.message));
    replyKeyboard(event.keyboard);
    if (event.message.from.is_bot) $("typing").hidden = true;
    scrollDown();
  } else if (event.kind === "edit") {
    const old = findMessage(event.message.message_id);
    if (old) {
      const edited = messageElement(event.message);
      old.replaceWith(edited);
      if (!replay) edited.scrollIntoView({ block: "nearest" });  // an edited question or advice comes into view
    }
  } else if (event.kind === "delete") {
    const old = findMessage(event.message_id);
    if (old) old.remove();
  } else if (replay) {
    // chat actions and button answers are momentary: not shown again when a chat is reloaded
  } else if (event.kind === "action") {
    $("typing").hidden = false;
    clearTimeout(applyEvent.typingTimer);
    applyEvent.typingTimer = setTimeout(() => { $("typing").hidden = true; }, 5000);  // Telegram shows it 5 s
  } else if (event.kind === "callback_answer" && event.text) {
    if (event.show_alert) alert(event.text); else showToast(event.text);
  }
}

// ---- long polling ---------------------------------------------------------------------------------------------

async function pollEvents(userId, controller) {
  let replay = true;  // the first answer (timeout 0) rebuilds the chat so far
  while (!controller.signal.aborted) {
    try {
      const url = `/_chat/events?user_id=${userId}&after=${state.after}&timeout=${replay ? 0 : 25}`;
      const response = await fetch(url, { signal: controller.signal });
      if (!response.ok) throw new Error(`events: ${response.status}`);
      const body = await response.json();
      if (controller.signal.aborted) return;
      body.events.forEach((event) => applyEvent(event, replay));
      updateEmptyHint();
      if (replay) scrollDown();
      replay = false;
    } catch (error) {
      if (controller.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));  // emulator restarting: try again shortly
    }
  }
}

function switchUser(userId) {
  if (state.poll) state.poll.abort();
  state.userId = userId;
  state.after = 0;
  $("messages").replaceChildren();
  $("reply-keyboard").hidden = true;
  $("typing").hidden = true;
  localStorage.setItem("skinbot-playground-user", String(userId));
  applyLabels((state.users.get(userId) || {}).language_code);
  state.poll = new AbortController();
  pollEvents(userId, state.poll);
}

// ---- user actions ---------------------------------------------------------------------------------------------

async function sendText(text) {
  try {
    await postJson("/_chat/send", { user_id: state.userId, text });
  } catch (error) {
    showError(error.message);
  }
}

async function upload(file, as) {
  const form = new FormData();
  form.append("user_id", state.userId);
  form.append("as", as);
  form.append("file", file, file.name);
  try {
    await api("/_chat/upload", { method: "POST", body: form });
  } catch (error) {
    showError(error.message);
  }
}

async function press(messageId, data) {
  try {
    await postJson("/_chat/press", { user_id: state.userId, message_id: messageId, data });
  } catch (error) {
    showError(error.message);
  }
}

async function loadUsers(selectId) {
  let { users } = await api("/_chat/users");
  if (!users.length) {
    await postJson("/_chat/users", { first_name: "Alex", language_code: "en" });
    await postJson("/_chat/users", { first_name: "지민", language_code: "ko" });
    ({ users } = await api("/_chat/users"));
  }
  state.users = new Map(users.map((u) => [u.id, u]));
  const select = $("user-select");
  select.replaceChildren(...users.map((u) => new Option(`${u.first_name} (${u.language_code})`, u.id)));
  const remembered = Number(localStorage.getItem("skinbot-playground-user"));
  const wanted = selectId || (users.some((u) => u.id === remembered) ? remembered : users[0].id);
  select.value = String(wanted);
  switchUser(wanted);
}

function bindForms() {
  $("composer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text-input").value.trim();
    if (!text) return;
    $("text-input").value = "";
    sendText(text);
  });
  $("photo-input").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) upload(file, "photo");
    event.target.value = "";
  });
  $("file-input").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) upload(file, "document");
    event.target.value = "";
  });
  $("user-select").addEventListener("change", (event) => switchUser(Number(event.target.value)));
  $("new-user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { user } = await postJson("/_chat/users",
        { first_name: $("new-user-name").value.trim(), language_code: $("new-user-lang").value });
      $("new-user-name").value = "";
      $("new-user").open = false;
      await loadUsers(user.id);
    } catch (error) {
      showError(error.message);
    }
  });
}

bindForms();
loadUsers().catch((error) => showError(`Cannot reach the emulator: ${error.message}`));
