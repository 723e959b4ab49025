// English and Korean. Korean keeps the original app's wording where it had one.
import { signalLike } from "./store";

const en = {
  appTitle: "GIF chat",
  tagline: "Rooms that fill up, chat, trade GIFs and vanish.",
  createRoom: "Create a room",
  roomTitle: "Title",
  capacity: "Capacity",
  passwordOptional: "Password (optional, makes it secret)",
  create: "Create",
  rooms: "Rooms",
  noRooms: "No rooms yet. Create the first one!",
  secret: "Secret",
  members: "Members",
  showMembers: "Show members",
  hideMembers: "Hide members",
  owner: "Owner",
  join: "Join",
  enter: "Enter",
  cancel: "Cancel",
  close: "Close",
  password: "Password",
  passwordFor: (t: string) => `Password for “${t}”`,
  wrongPassword: "Wrong password.",
  roomFull: "This room is full.",
  banned: "You were removed from this room and cannot come back.",
  notFound: "This room does not exist.",
  forbidden: "You do not have access to this room.",
  rateLimited: "Slow down a little, then try again.",
  genericError: "Something went wrong. Please try again.",
  invalid: "Some fields need fixing.",
  leave: "Leave",
  backToLobby: "Back to the rooms",
  send: "Send",
  messagePlaceholder: "Message (Enter sends, Shift+Enter for a new line)",
  messageLabel: "Message",
  /** Around the recipient's name in the whisper bar. */
  whisperingTo: ["Whispering to ", ""] as [string, string],
  stopWhisper: "Stop whispering",
  replyAction: "Reply",
  reactAction: "React",
  editAction: "Edit",
  deleteAction: "Delete",
  confirmDeleteAction: "Delete for everyone?",
  replyingTo: (name: string) => `Replying to ${name}`,
  stopReplying: "Cancel reply",
  edited: "(edited)",
  deletedMessage: "Message deleted",
  gifExcerpt: "GIF",
  saveEdit: "Save",
  cancelEdit: "Cancel",
  editHint: "Enter to save, Escape to cancel",
  reactedBy: (emoji: string, n: number) => `${emoji} ${n}`,
  jumpToOriginal: "Show the message this answers",
  addGif: "GIF",
  addGifLabel: "Send a GIF",
  dropGif: "Drop a GIF to send it",
  uploading: "Uploading…",
  tooLarge: "That GIF is too large.",
  tooLargeLimit: (limit: string) => `That GIF is too large: the limit is ${limit}.`,
  notAGif: "That file is not a GIF.",
  typingOne: (n: string) => `${n} is typing…`,
  typingMany: (n: number) => `${n} people are typing…`,
  loadingEarlier: "Loading earlier messages…",
  start: "This is the beginning of the room.",
  joined: (n: string) => `${n} joined.`,
  left: (n: string) => `${n} left.`,
  kickedLine: (n: string) => `${n} was removed.`,
  ownerChanged: (n: string) => `${n} is now the owner.`,
  joinedSelf: "You joined.",
  leftSelf: "You left.",
  kickedSelf: "You were removed.",
  ownerChangedSelf: "You are now the owner.",
  whisperFrom: (n: string) => `whisper from ${n}`,
  whisperToLine: (n: string) => `whisper to ${n}`,
  you: "you",
  kick: "Remove",
  makeOwner: "Make owner",
  whisper: "Whisper",
  kickedNotice: "You were removed from the room.",
  deletedNotice: "The room was deleted.",
  nickname: "Nickname",
  save: "Save",
  connecting: "Connecting…",
  reconnecting: "Connection lost. Reconnecting…",
  offlineHint: "Messages you send now go out when the connection is back.",
  deleteRoom: "Delete room",
  roomSettings: "Room settings",
  stayPublic: "Public: anyone can enter",
  passwordUnchanged: "Keep the current password",
  passwordSet: "Make it secret with a password",
  passwordChange: "Change the password",
  passwordClear: "Remove the password (make it public)",
  passwordNeeded: "Type the new password.",
  keepRoom: "Keep this room when everyone has left",
  capacityBelowPresent: (n: number) => `More people are in the room now (${n}) than that.`,
  language: "Language",
  newMessages: "New messages",
  newMessagesCount: (n: number) => (n === 1 ? "1 new message" : `${n} new messages`),
  unreadLine: "New",
  toLatest: "Jump to the latest message",
  today: "Today",
  yesterday: "Yesterday",
  sending: "Sending…",
  waitingToSend: "Waiting for the connection…",
  sent: "Sent",
  notSent: "Not sent",
  retry: "Retry",
  discard: "Discard",
  openGif: "Open the GIF",
  gif: "GIF",
  playGif: "Play the GIF",
  pauseGif: "Pause the GIF",
  gifFrom: (n: string) => `GIF from ${n}`,
  confirmDeleteTitle: (t: string) => `Delete “${t}”?`,
  confirmDeleteBody: "The room, its messages and its GIFs are deleted for everyone. This cannot be undone.",
  confirmKickTitle: (n: string) => `Remove ${n}?`,
  confirmKickBody: "They leave the room now and cannot come back.",
  confirmOwnerTitle: (n: string) => `Make ${n} the owner?`,
  confirmOwnerBody: "They can then delete the room and remove people; you no longer can.",
  welcomeTitle: "Welcome to GIF chat",
  welcomeBody: "What should people call you? You can change it any time.",
  welcomeSkip: "Skip",
  welcomeSave: "Save",
  // Field rules, shown instead of the server's English for fields we know.
  fieldTitle: "Give the room a title of 1 to 100 visible characters on one line.",
  fieldMaxMembers: (max: number) => `Choose a capacity from 2 to ${max}.`,
  fieldPassword: "A password can be at most 128 characters.",
  fieldNickname: (max: number) => `A nickname is 1 to ${max} visible characters on one line, and not a colour code like #2b40b1.`,
  fieldText: (max: number) => `A message is 1 to ${max} characters.`,
  fieldTo: "That person cannot receive whispers in this room.",
  fieldGif: "That GIF is too big to show (too many pixels or frames).",
};

type Dict = typeof en;

const ko: Dict = {
  ...en,
  appTitle: "GIF 채팅방",
  tagline: "방을 만들고, 이야기하고, GIF를 나누세요.",
  createRoom: "채팅방 생성",
  roomTitle: "방 제목",
  capacity: "허용 인원",
  passwordOptional: "비밀번호 (선택, 입력하면 비밀방)",
  create: "생성",
  rooms: "채팅방 목록",
  noRooms: "아직 방이 없습니다. 첫 방을 만들어 보세요!",
  secret: "비밀방",
  members: "참여자",
  showMembers: "참여자 보기",
  hideMembers: "참여자 닫기",
  owner: "방장",
  join: "입장",
  enter: "입장",
  cancel: "취소",
  close: "닫기",
  password: "비밀번호",
  passwordFor: (t) => `“${t}” 비밀번호`,
  wrongPassword: "비밀번호가 틀렸습니다.",
  roomFull: "허용 인원이 초과하였습니다.",
  banned: "이 방에서 강퇴되어 다시 들어갈 수 없습니다.",
  notFound: "존재하지 않는 방입니다.",
  forbidden: "이 방에 들어갈 권한이 없습니다.",
  rateLimited: "잠시 후 다시 시도해 주세요.",
  genericError: "문제가 생겼습니다. 다시 시도해 주세요.",
  invalid: "입력한 내용을 확인해 주세요.",
  leave: "나가기",
  backToLobby: "채팅방 목록으로",
  send: "보내기",
  messagePlaceholder: "메시지 (Enter 전송, Shift+Enter 줄바꿈)",
  messageLabel: "메시지",
  whisperingTo: ["", "님에게 귓속말 중"],
  stopWhisper: "귓속말 그만하기",
  replyAction: "답장",
  reactAction: "반응",
  editAction: "수정",
  deleteAction: "삭제",
  confirmDeleteAction: "모두에게서 삭제할까요?",
  replyingTo: (name: string) => `${name}에게 답장`,
  stopReplying: "답장 취소",
  edited: "(수정됨)",
  deletedMessage: "삭제된 메시지",
  gifExcerpt: "GIF",
  saveEdit: "저장",
  cancelEdit: "취소",
  editHint: "Enter로 저장, Escape로 취소",
  reactedBy: (emoji: string, n: number) => `${emoji} ${n}`,
  jumpToOriginal: "답장한 메시지 보기",
  addGif: "GIF",
  addGifLabel: "GIF 보내기",
  dropGif: "GIF를 놓으면 보냅니다",
  uploading: "올리는 중…",
  tooLarge: "GIF 파일이 너무 큽니다.",
  tooLargeLimit: (limit) => `GIF 파일이 너무 큽니다. ${limit}까지 올릴 수 있습니다.`,
  notAGif: "GIF 파일이 아닙니다.",
  typingOne: (n) => `${n}님이 입력 중…`,
  typingMany: (n) => `${n}명이 입력 중…`,
  loadingEarlier: "이전 메시지를 불러오는 중…",
  start: "대화의 시작입니다.",
  joined: (n) => `${n}님이 입장하셨습니다.`,
  left: (n) => `${n}님이 퇴장하셨습니다.`,
  kickedLine: (n) => `${n}님이 강퇴되었습니다.`,
  ownerChanged: (n) => `${n}님이 방장이 되었습니다.`,
  joinedSelf: "채팅방에 입장했습니다.",
  leftSelf: "채팅방에서 나갔습니다.",
  kickedSelf: "채팅방에서 강퇴되었습니다.",
  ownerChangedSelf: "내가 방장이 되었습니다.",
  whisperFrom: (n) => `${n}님의 귓속말`,
  whisperToLine: (n) => `${n}님에게 보낸 귓속말`,
  you: "나",
  kick: "강퇴",
  makeOwner: "방장 위임",
  whisper: "귓속말",
  kickedNotice: "방에서 강퇴되었습니다.",
  deletedNotice: "방이 삭제되었습니다.",
  nickname: "닉네임",
  save: "저장",
  connecting: "연결 중…",
  reconnecting: "연결이 끊겼습니다. 다시 연결하는 중…",
  offlineHint: "지금 보내는 메시지는 연결되면 전송됩니다.",
  deleteRoom: "방 삭제",
  roomSettings: "방 설정",
  stayPublic: "공개: 누구나 들어올 수 있음",
  passwordUnchanged: "지금 비밀번호 유지",
  passwordSet: "비밀번호를 걸어 비밀방으로",
  passwordChange: "비밀번호 바꾸기",
  passwordClear: "비밀번호 없애기 (공개방으로)",
  passwordNeeded: "새 비밀번호를 입력해 주세요.",
  keepRoom: "모두 나가도 이 방을 남겨 두기",
  capacityBelowPresent: (n) => `지금 방에 있는 사람(${n}명)보다 적게 정할 수 없습니다.`,
  language: "언어",
  newMessages: "새 메시지",
  newMessagesCount: (n) => `새 메시지 ${n}개`,
  unreadLine: "여기부터 안 읽음",
  toLatest: "최신 메시지로 이동",
  today: "오늘",
  yesterday: "어제",
  sending: "보내는 중…",
  waitingToSend: "연결을 기다리는 중…",
  sent: "보냄",
  notSent: "보내지 못함",
  retry: "다시 보내기",
  discard: "삭제",
  openGif: "GIF 크게 보기",
  gif: "GIF",
  playGif: "GIF 재생",
  pauseGif: "GIF 정지",
  gifFrom: (n) => `${n}님이 보낸 GIF`,
  confirmDeleteTitle: (t) => `“${t}” 방을 삭제할까요?`,
  confirmDeleteBody: "방과 메시지, GIF가 모두에게서 삭제되며 되돌릴 수 없습니다.",
  confirmKickTitle: (n) => `${n}님을 강퇴할까요?`,
  confirmKickBody: "지금 방에서 내보내며, 다시 들어올 수 없습니다.",
  confirmOwnerTitle: (n) => `${n}님에게 방장을 넘길까요?`,
  confirmOwnerBody: "넘기면 방 삭제와 강퇴는 새 방장만 할 수 있습니다.",
  welcomeTitle: "GIF 채팅방에 오신 것을 환영합니다",
  welcomeBody: "어떤 이름으로 불러 드릴까요? 언제든 바꿀 수 있습니다.",
  welcomeSkip: "건너뛰기",
  welcomeSave: "저장",
  fieldTitle: "방 제목은 한 줄로, 보이는 글자 1~100자로 입력해 주세요.",
  fieldMaxMembers: (max) => `허용 인원은 2~${max}명 사이로 정해 주세요.`,
  fieldPassword: "비밀번호는 128자까지 입력할 수 있습니다.",
  fieldNickname: (max) => `닉네임은 한 줄로, 보이는 글자 1~${max}자로 입력해 주세요. #2b40b1 같은 색상 코드는 쓸 수 없습니다.`,
  fieldText: (max) => `메시지는 1~${max}자까지 보낼 수 있습니다.`,
  fieldTo: "이 사람에게는 이 방에서 귓속말을 보낼 수 없습니다.",
  fieldGif: "GIF가 너무 커서 보여 줄 수 없습니다 (픽셀이나 프레임이 너무 많음).",
};

export type Lang = "en" | "ko";
export const dictionaries: Record<Lang, Dict> = { en, ko };

function detect(): Lang {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem("lang") : null;
  if (saved === "en" || saved === "ko") return saved;
  const langs = typeof navigator !== "undefined" ? navigator.languages ?? [navigator.language] : [];
  return langs.some((l) => l?.toLowerCase().startsWith("ko")) ? "ko" : "en";
}

export const lang = signalLike<Lang>(detect());

export function setLang(l: Lang): void {
  localStorage.setItem("lang", l);
  document.documentElement.lang = l;
  lang.set(l);
}

export function t(): Dict {
  return dictionaries[lang.get()];
}

/** The friendly text for an API or socket error code. */
export function errorText(code: string): string {
  const d = t();
  switch (code) {
    case "wrong_password":
      return d.wrongPassword;
    case "room_full":
      return d.roomFull;
    case "banned":
      return d.banned;
    case "not_found":
      return d.notFound;
    case "forbidden":
      return d.forbidden;
    case "rate_limited":
      return d.rateLimited;
    case "payload_too_large":
      return d.tooLarge;
    case "unsupported_media_type":
      return d.notAGif;
    case "validation_failed":
      return d.invalid;
    default:
      return d.genericError;
  }
}

/** Limits the field texts mention. */
export interface FieldLimits {
  maxMembers?: number;
  textMax?: number;
  nicknameMax?: number;
}

/** A validation error for one field, in the app's language; the server's
 *  own (English) message for a field this app does not know. */
export function fieldText(field: string, serverMessage: string, limits: FieldLimits = {}): string {
  const d = t();
  switch (field) {
    case "title":
      return d.fieldTitle;
    case "max_members":
      return d.fieldMaxMembers(limits.maxMembers ?? 1000);
    case "password":
      return d.fieldPassword;
    case "nickname":
      return d.fieldNickname(limits.nicknameMax ?? 32);
    case "text":
      return d.fieldText(limits.textMax ?? 2000);
    case "to":
      return d.fieldTo;
    case "gif":
      return d.fieldGif;
    default:
      return serverMessage;
  }
}

/** One line for any error: the field's rule when the server named fields. */
export function problemText(err: { code: string; message: string; fields?: Record<string, string> }, limits: FieldLimits = {}): string {
  const fields = Object.entries(err.fields ?? {});
  if (err.code === "validation_failed" && fields.length) {
    return fields.map(([f, m]) => fieldText(f, m, limits)).join(" ");
  }
  return errorText(err.code);
}
