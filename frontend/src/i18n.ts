// English and Korean. Korean keeps the original app's wording where it had one.
import { signalLike } from "./store";

export const en = {
  appTitle: "GIF chat",
  tagline: "Rooms that fill up, chat, trade GIFs and vanish.",
  createRoom: "Create a room",
  roomTitle: "Title",
  capacity: "Capacity",
  passwordOptional: "Password (optional, makes it secret)",
  create: "Create",
  rooms: "Rooms",
  searchRooms: "Search rooms",
  noRoomsMatch: (q: string) => `No room's title has “${q}”.`,
  noRooms: "No rooms yet. Create the first one!",
  secret: "Secret",
  members: "Members",
  showMembers: "Show members",
  hideMembers: "Hide members",
  owner: "Owner",
  join: "Join",
  enter: "Enter",
  cancel: "Cancel",
  downloadGif: "Download",
  previousGif: "Previous GIF",
  nextGif: "Next GIF",
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
  moreEmoji: "More emoji",
  pickEmoji: "Choose an emoji",
  searchEmoji: "Search emoji",
  noEmojiFound: "No emoji found",
  emojiLoadFailed: "The emoji list could not be loaded.",
  loading: "Loading…",
  emojiGroup: (slug: string) => ({
    recent: "Recently used", popular: "Popular", results: "Results", smileys_emotion: "Smileys & emotion", people_body: "People & body",
    animals_nature: "Animals & nature", food_drink: "Food & drink", travel_places: "Travel & places",
    activities: "Activities", objects: "Objects", symbols: "Symbols", flags: "Flags",
  } as Record<string, string>)[slug] ?? slug,
  saving: "Saving…",
  notSaved: "Not saved",
  deleting: "Deleting…",
  notDeleted: "Not deleted",
  reactionFailed: (emoji: string) => `Your ${emoji} reaction did not go through.`,
  addGif: "GIF",
  addGifLabel: "Upload a GIF",
  findGif: "Find a GIF",
  noGifWhisper: "GIFs cannot be whispered: close whisper mode to send one",
  pickGif: "Choose a GIF",
  searchGifs: "Search GIFs by description",
  gifsInRoom: "In this room",
  gifLibrary: "All GIFs",
  gifResults: "Results",
  gifCount: (n: number) => (n === 1 ? "1 GIF" : `${n} GIFs`),
  noGifsFound: (q: string) => `No GIF has a description with “${q}”.`,
  noGifsYet: "No GIFs yet. Upload the first one!",
  gifsLoadFailed: "The GIFs could not be loaded.",
  tryAgain: "Try again",
  gifUntitled: "GIF without a description",
  sendGifTitle: "Send this GIF",
  altLabel: "Description (optional)",
  altHint: "Say what it shows, for people who cannot see it. It also helps others find it.",
  charsLeft: (n: number) => (n < 0 ? `${-n} characters too many` : n === 1 ? "1 character left" : `${n} characters left`),
  editAlt: "Edit description",
  altNotSaved: "Description not saved",
  dropGif: "Drop a GIF to send it",
  uploading: "Uploading…",
  tooLarge: "That GIF is too large.",
  tooLargeLimit: (limit: string) => `That GIF is too large: the limit is ${limit}.`,
  notAGif: "That file is not a GIF.",
  notGifData: (name: string) => `“${name}” is not a GIF: its contents are another kind of file.`,
  typingOne: (n: string) => `${n} is typing…`,
  typingMany: (n: number) => `${n} people are typing…`,
  loadingEarlier: "Loading earlier messages…",
  start: "This is the beginning of the room.",
  joined: (n: string) => `${n} joined.`,
  left: (n: string) => `${n} left.`,
  kickedLine: (n: string) => `${n} was removed.`,
  ownerChanged: (n: string) => `${n} is now the owner.`,
  /** A run of comings and goings in one line: who is in, who is out. */
  joinedMany: (names: string) => `${names} joined.`,
  leftMany: (names: string) => `${names} left.`,
  /** The first names of a long list, then how many more. */
  andOthers: (n: number) => (n === 1 ? "1 other" : `${n} others`),
  youName: "You",
  showAll: (n: number) => `Show all ${n}`,
  showLess: "Show less",
  joinedSelf: "You joined.",
  leftSelf: "You left.",
  kickedSelf: "You were removed.",
  ownerChangedSelf: "You are now the owner.",
  /** Under the sender's name on a whisper they sent you. */
  whisperToYou: "whisper to you",
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
  offline: "You are offline. Messages you send go out when you are back.",
  reconnectNow: "Try now",
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
  partNotLoaded: "This part of GIF chat did not load.",
  partNotLoadedOffline: "You are offline: this part of GIF chat did not load. It loads when the connection is back.",
  reloadPage: "Reload",
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
  fieldEmoji: "That is not an emoji this server knows.",
  fieldEmojiFull: "A message can have at most 20 different reactions.",
  fieldAlt: (max: number) => `A description is at most ${max} characters.`,
};

export type Dict = typeof en;


export type Lang = "en" | "ko";
/** The languages loaded so far; English always is. */
const dictionaries: Partial<Record<Lang, Dict>> = { en };

/** Fetches a language's words, once. */
export async function loadLang(l: Lang): Promise<void> {
  if (l === "ko" && !dictionaries.ko) dictionaries.ko = (await import("./i18n-ko")).ko;
}

function detect(): Lang {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem("lang") : null;
  if (saved === "en" || saved === "ko") return saved;
  const langs = typeof navigator !== "undefined" ? navigator.languages ?? [navigator.language] : [];
  return langs.some((l) => l?.toLowerCase().startsWith("ko")) ? "ko" : "en";
}

export const lang = signalLike<Lang>(detect());

export async function setLang(l: Lang): Promise<void> {
  await loadLang(l);
  localStorage.setItem("lang", l);
  document.documentElement.lang = l;
  lang.set(l);
}

export function t(): Dict {
  return dictionaries[lang.get()] ?? en;
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
  altMax?: number;
  /** The chat already carries the most different reactions it may. */
  reactionsFull?: boolean;
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
    case "emoji":
      return limits.reactionsFull ? d.fieldEmojiFull : d.fieldEmoji;
    case "alt":
      return d.fieldAlt(limits.altMax ?? 300);
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
