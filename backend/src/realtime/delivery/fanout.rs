//! Sending events and reading presence, on one instance or several.
//!
//! Every event goes to this instance's sockets at once through the hub; with
//! a cluster it is also published for the other instances. Presence is read
//! from the hub on a single instance and from Redis in a cluster.

use std::sync::Arc;

use bytestring::ByteString;

use crate::api::UserResponse;
use crate::cluster::Route;
use crate::db::rooms;
use crate::error::AppResult;
use crate::realtime::delivery::frame::{chat_json_of_frame, FrameKind, Outbound};
use crate::realtime::delivery::hub::ConnId;
use crate::realtime::envelope::ServerEnvelope;
use crate::realtime::Realtime;

impl Realtime {
    fn publish(&self, route: impl FnOnce() -> Route, out: &Outbound) {
        if let Some(cluster) = &self.cluster {
            cluster.publish(route(), &out.text);
        }
    }

    /// To every socket in the room; a whisper only to its two parties.
    pub fn to_room(&self, room: &str, out: &Outbound, parties: Option<[&str; 2]>) {
        self.hub.to_room(room, out, parties);
        self.publish(
            || Route::Room {
                room: room.to_owned(),
                seq: out.chat().map(|(_, seq)| seq),
                rev: out.rev(),
                parties: parties.map(|[a, b]| [a.to_owned(), b.to_owned()]),
                except_user: None,
            },
            out,
        );
    }

    /// To every socket in the room but the user's own.
    pub fn to_room_except_user(&self, room: &str, user_id: &str, out: &Outbound) {
        self.hub.to_room_except_user(room, user_id, out);
        self.publish(
            || Route::Room {
                room: room.to_owned(),
                seq: None,
                rev: None,
                parties: None,
                except_user: Some(user_id.to_owned()),
            },
            out,
        );
    }

    /// To every socket in the room but `conn` (which is on this instance).
    pub fn to_room_except_conn(&self, room: &str, conn: ConnId, out: &Outbound) {
        self.hub.to_room_except_conn(room, conn, out);
        self.publish(
            || Route::Room {
                room: room.to_owned(),
                seq: None,
                rev: None,
                parties: None,
                except_user: None,
            },
            out,
        );
    }

    pub fn to_lobby(&self, out: &Outbound) {
        self.hub.to_lobby(out);
        self.publish(|| Route::Lobby, out);
    }

    /// The user's sockets in the room, everywhere, get `out` and leave it.
    pub fn kick_sockets(&self, room: &str, user_id: &str, out: &Outbound) {
        self.hub.kick(room, user_id, out);
        self.publish(
            || Route::Kick {
                room: room.to_owned(),
                user: user_id.to_owned(),
            },
            out,
        );
    }

    /// The room's sockets, everywhere, and the lobby get `out` (room_deleted).
    pub fn room_deleted_everywhere(&self, room: &str, out: &Outbound) {
        self.hub.remove_room(room, out);
        self.hub.to_lobby(out);
        self.publish(
            || Route::RoomDeleted {
                room: room.to_owned(),
            },
            out,
        );
    }

    /// A user's nickname changed: every instance gives its copies of the
    /// user (connections, member lists, the latest chats) the new name and
    /// sends `user_updated` to its sockets in the lobby, in the rooms the
    /// user is a member of, and the user's own.
    pub async fn user_updated(&self, user: &UserResponse) {
        let rooms = self.rooms_of(&user.id).await;
        let out = Outbound::plain(ServerEnvelope::UserUpdated { user: user.clone() });
        self.recent.renamed(&user.id);
        self.hub.user_updated(user, &rooms, &out);
        if let Some(cluster) = &self.cluster {
            let route = Route::Renamed {
                user: user.clone(),
                rooms,
            };
            cluster.publish(route, &out.text);
        }
    }

    /// The rooms where `user_id` is a member, on any instance. Should the
    /// shared view be out of reach, those this instance knows of.
    async fn rooms_of(&self, user_id: &str) -> Vec<String> {
        let Some(cluster) = &self.cluster else {
            return self.hub.rooms_of(user_id);
        };
        let shared = async {
            let ids = self.db.run(|conn| Ok(rooms::ids(conn)?)).await?;
            cluster.rooms_with_member(&ids, user_id).await
        };
        shared.await.unwrap_or_else(|e| {
            log::warn!("telling only this instance's rooms that {user_id} was renamed: {e}");
            self.hub.rooms_of(user_id)
        })
    }

    /// Members in the room now, counted in users on every instance.
    pub async fn member_count(&self, room: &str) -> usize {
        self.member_counts(&[room]).await.pop().unwrap_or(0)
    }

    /// [`Self::member_count`] for many rooms in one round trip. These counts
    /// are for display: while Redis is unreachable they are this
    /// instance's own, so room listings keep working.
    pub async fn member_counts(&self, rooms: &[&str]) -> Vec<usize> {
        let local = || rooms.iter().map(|r| self.hub.member_count(r)).collect();
        match &self.cluster {
            None => local(),
            Some(cluster) => cluster.counts(rooms).await.unwrap_or_else(|e| {
                log::debug!("member counts from this instance only: {e}");
                local()
            }),
        }
    }

    /// Members in the order they arrived.
    pub async fn members(&self, room: &str) -> AppResult<Vec<UserResponse>> {
        let Some(cluster) = &self.cluster else {
            return Ok(self.hub.members(room));
        };
        let ids = cluster.members(room).await?;
        self.users_in_order(ids).await
    }

    /// Users by id, in the order given (ids with no row get a default name).
    pub async fn users_in_order(&self, ids: Vec<String>) -> AppResult<Vec<UserResponse>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.db
            .run(move |conn| {
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                let mut found = crate::db::users::load_responses(conn, &refs)?;
                Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
            })
            .await
    }

    /// One user by id (a default name if there is no row).
    pub async fn user(&self, id: &str) -> AppResult<UserResponse> {
        let found = self.users_in_order(vec![id.to_owned()]).await?;
        Ok(found
            .into_iter()
            .next()
            .unwrap_or_else(|| UserResponse::new(id, None)))
    }

    pub async fn is_member(&self, room: &str, user_id: &str) -> AppResult<bool> {
        match &self.cluster {
            None => Ok(self.hub.is_member(room, user_id)),
            Some(cluster) => cluster.is_member(room, user_id).await,
        }
    }

    /// Whether `user_id` could take a seat now (or holds one).
    pub async fn has_seat_for(
        &self,
        room: &str,
        user_id: &str,
        capacity: usize,
    ) -> AppResult<bool> {
        match &self.cluster {
            None => Ok(self.hub.has_seat_for(room, user_id, capacity)),
            Some(cluster) => cluster.has_seat_for(room, user_id, capacity).await,
        }
    }

    /// The longest-present member other than `except`.
    pub async fn longest_present_except(
        &self,
        room: &str,
        except: &str,
    ) -> AppResult<Option<UserResponse>> {
        let Some(cluster) = &self.cluster else {
            return Ok(self.hub.longest_present_except(room, except));
        };
        let next = cluster
            .members(room)
            .await?
            .into_iter()
            .find(|id| id != except);
        Ok(self.users_in_order(next.into_iter().collect()).await?.pop())
    }

    /// Hands another instance's event to this instance's sockets.
    pub fn deliver_remote(&self, route: Route, frame: ByteString) {
        let hub = &self.hub;
        match route {
            Route::Room {
                room,
                seq,
                rev,
                parties,
                except_user,
            } => {
                let kind = match (seq, rev) {
                    (Some(seq), Some(rev)) => {
                        if let Some(json) = chat_json_of_frame(&frame) {
                            let parties = parties.as_ref().map(|[a, b]| [a.as_str(), b.as_str()]);
                            let json = frame.as_bytes().slice_ref(json.as_bytes());
                            self.recent.record(&room, seq, rev, parties, json);
                        }
                        FrameKind::Chat {
                            room: Arc::from(room.as_str()),
                            seq,
                            rev,
                        }
                    }
                    (None, Some(rev)) => {
                        self.recent.changed(&room, rev);
                        FrameKind::ChatUpdated {
                            room: Arc::from(room.as_str()),
                            rev,
                        }
                    }
                    _ => FrameKind::Other,
                };
                let out = Outbound::new(frame, kind);
                match (parties, except_user) {
                    (_, Some(except)) => hub.to_room_except_user(&room, &except, &out),
                    (Some([a, b]), None) => {
                        hub.to_room(&room, &out, Some([a.as_str(), b.as_str()]))
                    }
                    (None, None) => hub.to_room(&room, &out, None),
                }
            }
            Route::Lobby => hub.to_lobby(&Outbound::new(frame, FrameKind::Other)),
            Route::Kick { room, user } => {
                hub.kick(&room, &user, &Outbound::new(frame, FrameKind::Kicked));
            }
            Route::RoomDeleted { room } => {
                let out = Outbound::new(frame, FrameKind::RoomDeleted);
                hub.remove_room(&room, &out);
                hub.to_lobby(&out);
                self.recent.forget_room(&room);
            }
            Route::Renamed { user, rooms } => {
                self.recent.renamed(&user.id);
                hub.user_updated(&user, &rooms, &Outbound::new(frame, FrameKind::Other));
            }
        }
    }
}
