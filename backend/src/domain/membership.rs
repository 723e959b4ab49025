//! Who is in which room, and the capacity rule.
//!
//! A user is a member while at least one of their connections has joined;
//! capacity counts users, not connections. When the last connection goes the
//! user keeps their seat, marked as leaving, until the caller decides the
//! grace has passed (`expire`); a reload within the grace is not a leave.
//! Members are kept in the order they arrived, which makes "the
//! longest-present member" the first one. A seat may also be held with no
//! connection at all (`hold`): across a restart, until its grace ends.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: String,
    pub connections: u32,
}

#[derive(Debug, Default)]
struct RoomMembers {
    members: Vec<Member>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// The user was not in the room: announce them.
    NewMember,
    /// Another tab, or a return within the leave grace: nothing to announce.
    AlreadyMember,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomFull;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// The user still has other connections in the room.
    StillPresent,
    /// That was the user's last connection: start the leave grace.
    LastConnection,
    /// The connection was not in the room.
    NotMember,
}

#[derive(Debug, Default)]
pub struct Membership {
    rooms: HashMap<String, RoomMembers>,
}

impl Membership {
    /// Adds one connection of `user` to `room`, if a seat is free or the user
    /// already holds one.
    pub fn join(&mut self, room: &str, user: &str, capacity: usize) -> Result<Joined, RoomFull> {
        let entry = self.rooms.entry(room.to_owned()).or_default();
        if let Some(member) = entry.members.iter_mut().find(|m| m.user_id == user) {
            member.connections += 1;
            return Ok(Joined::AlreadyMember);
        }
        if entry.members.len() >= capacity {
            return Err(RoomFull);
        }
        entry.members.push(Member {
            user_id: user.to_owned(),
            connections: 1,
        });
        Ok(Joined::NewMember)
    }

    /// Removes one connection of `user` from `room`.
    pub fn leave(&mut self, room: &str, user: &str) -> Left {
        let Some(member) = self.rooms.get_mut(room).and_then(|r| {
            r.members
                .iter_mut()
                .find(|m| m.user_id == user && m.connections > 0)
        }) else {
            return Left::NotMember;
        };
        member.connections -= 1;
        if member.connections == 0 {
            Left::LastConnection
        } else {
            Left::StillPresent
        }
    }

    /// Gives `user` a seat in `room` with no connection, as in their leave
    /// grace (a seat held across a restart), after those already there.
    /// Nothing changes for a member.
    pub fn hold(&mut self, room: &str, user: &str) {
        let entry = self.rooms.entry(room.to_owned()).or_default();
        if !entry.members.iter().any(|m| m.user_id == user) {
            entry.members.push(Member {
                user_id: user.to_owned(),
                connections: 0,
            });
        }
    }

    /// Every room's members, in the order they arrived.
    pub fn all(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = &Member>)> {
        self.rooms
            .iter()
            .map(|(room, r)| (room.as_str(), r.members.iter()))
    }

    /// Ends the leave grace: if `user` still has no connection in `room`, they
    /// give up their seat. Returns whether they did.
    pub fn expire(&mut self, room: &str, user: &str) -> bool {
        self.remove_if(room, user, |m| m.connections == 0)
    }

    /// Removes the user whatever their connections (a kick). Returns whether
    /// they were a member.
    pub fn remove(&mut self, room: &str, user: &str) -> bool {
        self.remove_if(room, user, |_| true)
    }

    fn remove_if(&mut self, room: &str, user: &str, pred: impl Fn(&Member) -> bool) -> bool {
        let Some(entry) = self.rooms.get_mut(room) else {
            return false;
        };
        let Some(pos) = entry
            .members
            .iter()
            .position(|m| m.user_id == user && pred(m))
        else {
            return false;
        };
        entry.members.remove(pos);
        if entry.members.is_empty() {
            self.rooms.remove(room);
        }
        true
    }

    /// Forgets a room and everyone in it.
    pub fn remove_room(&mut self, room: &str) -> Vec<Member> {
        self.rooms
            .remove(room)
            .map(|r| r.members)
            .unwrap_or_default()
    }

    pub fn count(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, |r| r.members.len())
    }

    pub fn is_member(&self, room: &str, user: &str) -> bool {
        self.rooms
            .get(room)
            .is_some_and(|r| r.members.iter().any(|m| m.user_id == user))
    }

    /// Whether `user` holds a seat anywhere, in a leave grace too.
    pub fn holds_a_seat(&self, user: &str) -> bool {
        self.rooms
            .values()
            .any(|r| r.members.iter().any(|m| m.user_id == user))
    }

    /// The rooms where `user` holds a seat, in their leave grace too.
    pub fn rooms_of(&self, user: &str) -> Vec<String> {
        self.rooms
            .iter()
            .filter(|(_, r)| r.members.iter().any(|m| m.user_id == user))
            .map(|(room, _)| room.clone())
            .collect()
    }

    /// Members in the order they arrived.
    pub fn members(&self, room: &str) -> impl Iterator<Item = &Member> {
        self.rooms
            .get(room)
            .into_iter()
            .flat_map(|r| r.members.iter())
    }

    /// Whether `user` could take a seat in `room` now.
    pub fn has_seat_for(&self, room: &str, user: &str, capacity: usize) -> bool {
        self.is_member(room, user) || self.count(room) < capacity
    }

    /// The member who has been present longest, other than `except`; the
    /// next owner when the owner leaves.
    pub fn longest_present_except(&self, room: &str, except: &str) -> Option<&str> {
        self.members(room)
            .find(|m| m.user_id != except)
            .map(|m| m.user_id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tabs_count_once() {
        let mut m = Membership::default();
        assert_eq!(m.join("r", "a", 2), Ok(Joined::NewMember));
        assert_eq!(m.join("r", "a", 2), Ok(Joined::AlreadyMember));
        assert_eq!(m.count("r"), 1);
        assert_eq!(m.leave("r", "a"), Left::StillPresent);
        assert_eq!(m.leave("r", "a"), Left::LastConnection);
        assert_eq!(m.leave("r", "a"), Left::NotMember);
    }

    #[test]
    fn capacity_counts_users() {
        let mut m = Membership::default();
        m.join("r", "a", 2).unwrap();
        m.join("r", "b", 2).unwrap();
        assert_eq!(m.join("r", "c", 2), Err(RoomFull));
        assert_eq!(m.join("r", "b", 2), Ok(Joined::AlreadyMember));
    }

    #[test]
    fn a_held_seat_is_taken_back_quietly_and_given_up_when_it_expires() {
        let mut m = Membership::default();
        m.join("r", "a", 2).unwrap();
        m.hold("r", "b");
        m.hold("r", "a");
        assert_eq!(m.count("r"), 2);
        assert_eq!(m.longest_present_except("r", "x"), Some("a"));
        assert_eq!(m.join("r", "b", 2), Ok(Joined::AlreadyMember));
        assert!(!m.expire("r", "b"), "b came back");
        m.hold("s", "c");
        assert!(m.expire("s", "c"));
        assert_eq!(m.count("s"), 0);
    }

    #[test]
    fn seat_is_kept_through_the_grace_and_given_up_after() {
        let mut m = Membership::default();
        m.join("r", "a", 1).unwrap();
        assert_eq!(m.leave("r", "a"), Left::LastConnection);
        assert_eq!(m.join("r", "b", 1), Err(RoomFull));
        assert_eq!(m.join("r", "a", 1), Ok(Joined::AlreadyMember));
        assert!(!m.expire("r", "a"), "a came back within the grace");
        assert_eq!(m.leave("r", "a"), Left::LastConnection);
        assert!(m.expire("r", "a"));
        assert_eq!(m.count("r"), 0);
        assert_eq!(m.join("r", "b", 1), Ok(Joined::NewMember));
    }

    #[test]
    fn a_users_rooms_include_those_of_their_grace() {
        let mut m = Membership::default();
        m.join("r1", "a", 10).unwrap();
        m.join("r2", "a", 10).unwrap();
        m.join("r3", "b", 10).unwrap();
        assert_eq!(m.leave("r2", "a"), Left::LastConnection);
        let mut rooms = m.rooms_of("a");
        rooms.sort();
        assert_eq!(rooms, ["r1", "r2"]);
        assert!(m.expire("r2", "a"));
        assert_eq!(m.rooms_of("a"), ["r1"]);
    }

    #[test]
    fn longest_present_member_is_next_owner() {
        let mut m = Membership::default();
        for u in ["owner", "first", "second"] {
            m.join("r", u, 10).unwrap();
        }
        assert_eq!(m.longest_present_except("r", "owner"), Some("first"));
        m.remove("r", "first");
        assert_eq!(m.longest_present_except("r", "owner"), Some("second"));
    }
}
