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
  owner: "Owner",
  join: "Join",
  enter: "Enter",
  cancel: "Cancel",
  password: "Password",
  passwordFor: (t: string) => `Password for “${t}”`,
  wrongPassword: "Wrong password.",
  roomFull: "This room is full.",
  banned: "You were removed from this room and cannot come back.",
  notFound: "This room does not exist.",
  forbidden: "You do not have access to this room.",
  rateLimited: "Slow down a little, then try again.",
  genericError: "Something went wrong. Please try again.",
  leave: "Leave",
  send: "Send",
  messagePlaceholder: "Message (Enter sends, Shift+Enter for a new line)",
  whisperTo: "Whisper to",
  everyone: "Everyone",
  addGif: "GIF",
  dropGif: "Drop a GIF to send it",
  uploading: "Uploading…",
  tooLarge: "That GIF is too large.",
  notAGif: "That file is not a GIF.",
  typingOne: (n: string) => `${n} is typing…`,
  typingMany: (n: number) => `${n} people are typing…`,
  loadEarlier: "Load earlier messages",
  start: "This is the beginning of the room.",
  joined: (n: string) => `${n} joined.`,
  left: (n: string) => `${n} left.`,
  kickedLine: (n: string) => `${n} was removed.`,
  ownerChanged: (n: string) => `${n} is now the owner.`,
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
  deleteRoom: "Delete room",
  language: "Language",
  back: "Lobby",
  newMessages: "New messages",
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
  owner: "방장",
  join: "입장",
  enter: "입장",
  cancel: "취소",
  password: "비밀번호",
  passwordFor: (t) => `“${t}” 비밀번호`,
  wrongPassword: "비밀번호가 틀렸습니다.",
  roomFull: "허용 인원이 초과하였습니다.",
  banned: "이 방에서 강퇴되어 다시 들어갈 수 없습니다.",
  notFound: "존재하지 않는 방입니다.",
  forbidden: "이 방에 들어갈 권한이 없습니다.",
  rateLimited: "잠시 후 다시 시도해 주세요.",
  genericError: "문제가 생겼습니다. 다시 시도해 주세요.",
  leave: "나가기",
  send: "보내기",
  messagePlaceholder: "메시지 (Enter 전송, Shift+Enter 줄바꿈)",
  whisperTo: "귓속말 대상",
  everyone: "모두",
  addGif: "GIF",
  dropGif: "GIF를 놓으면 보냅니다",
  uploading: "올리는 중…",
  tooLarge: "GIF 파일이 너무 큽니다.",
  notAGif: "GIF 파일이 아닙니다.",
  typingOne: (n) => `${n}님이 입력 중…`,
  typingMany: (n) => `${n}명이 입력 중…`,
  loadEarlier: "이전 메시지 불러오기",
  start: "대화의 시작입니다.",
  joined: (n) => `${n}님이 입장하셨습니다.`,
  left: (n) => `${n}님이 퇴장하셨습니다.`,
  kickedLine: (n) => `${n}님이 강퇴되었습니다.`,
  ownerChanged: (n) => `${n}님이 방장이 되었습니다.`,
  whisperFrom: (n) => `${n}님의 귓속말`,
  whisperToLine: (n) => `${n}님에게 귓속말`,
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
  deleteRoom: "방 삭제",
  language: "언어",
  back: "목록",
  newMessages: "새 메시지",
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
    default:
      return d.genericError;
  }
}
