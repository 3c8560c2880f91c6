//! Staff accounts in SQLite.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::internal;
use super::query::{Args, query};
use super::{SqliteStore, tenants::unique};
use crate::domain::staff::Actor;
use crate::domain::staff::{StaffChange, StaffMember};
use crate::domain::time::Timestamp;
use crate::store::row::Row;
use crate::store::staff::{
    self, ACTIVITY_COLUMNS, Action, Assignee, CANNED_COLUMNS, COLUMNS, CannedReply, ThreadHistory,
    member,
};
use crate::store::{Missing, Staff, StoreResult};

/// A list of ids as SQLite keeps one: 16 bytes each.
fn blob(ids: &[Uuid]) -> Vec<u8> {
    ids.iter().flat_map(|id| *id.as_bytes()).collect()
}

pub fn insert(conn: &Connection, m: &StaffMember, hash: &str) -> StoreResult<()> {
    conn.execute(
        &format!("INSERT INTO staff_members ({COLUMNS}, password_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        params![
            m.id,
            m.name,
            m.login,
            m.role.as_str(),
            blob(m.scope.ids()),
            m.disabled,
            m.must_change_password,
            m.created_ms,
            m.sessions_from_ms,
            hash
        ],
    )
    .map_err(|e| unique(e, || "Login is taken already.".to_owned()))?;
    Ok(())
}

fn one(
    conn: &Connection,
    condition: &str,
    key: Box<dyn rusqlite::ToSql>,
) -> StoreResult<Option<(StaffMember, String)>> {
    let sql = format!("SELECT {COLUMNS}, password_hash FROM staff_members WHERE {condition}");
    let args: Args = vec![(":key", key)];
    Ok(
        query(conn, &sql, &args, |row| Ok((member(row)?, row.string(9)?)))?
            .into_iter()
            .next(),
    )
}

pub fn update(
    conn: &Connection,
    login: &str,
    change: &StaffChange,
    now_ms: i64,
) -> StoreResult<StaffMember> {
    let sql = format!(
        "UPDATE staff_members SET name = coalesce(:name, name), role = coalesce(:role, role), \
                enterprise_ids = coalesce(:scope, enterprise_ids), \
                disabled = coalesce(:disabled, disabled), \
                sessions_from_ms = CASE WHEN :disabled THEN :now ELSE sessions_from_ms END \
         WHERE login = :login RETURNING {COLUMNS}"
    );
    let args: Args = vec![
        (":name", Box::new(change.name.clone())),
        (":role", Box::new(change.role.map(|r| r.as_str()))),
        (
            ":scope",
            Box::new(change.scope.as_ref().map(|s| blob(s.ids()))),
        ),
        (":disabled", Box::new(change.disabled)),
        (":now", Box::new(now_ms)),
        (":login", Box::new(login.to_owned())),
    ];
    query(conn, &sql, &args, |row| member(row))?
        .into_iter()
        .next()
        .ok_or_else(|| Missing::StaffMember.into())
}

pub fn history(conn: &Connection, thread: Uuid) -> StoreResult<ThreadHistory> {
    let args: Args = vec![(":thread", Box::new(thread))];
    Ok(ThreadHistory {
        authors: query(
            conn,
            "SELECT a.message_id, a.name FROM message_authors a \
             JOIN messages m ON m.id = a.message_id WHERE m.thread_id = :thread",
            &args,
            |row| Ok((row.uuid(0)?, row.string(1)?)),
        )?,
        activity: query(
            conn,
            &format!(
                "SELECT {ACTIVITY_COLUMNS} FROM thread_activity \
                 WHERE thread_id = :thread ORDER BY seq"
            ),
            &args,
            |row| staff::activity(row),
        )?,
    })
}

/// Adds a line to a thread's history, after its newest message.
pub fn add_line(
    conn: &Connection,
    thread: Uuid,
    at: Timestamp,
    actor: &Actor,
    action: &Action,
    target: Option<Uuid>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO thread_activity (thread_id, at_utc, member_id, name, action, \
                                      after_message_id, target_id, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT id FROM messages WHERE thread_id = ?1 \
                                      ORDER BY seq DESC LIMIT 1), ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            thread,
            at.unix(),
            actor.member,
            actor.name,
            action.as_str(),
            target,
            action.detail()
        ])
    })
    .map_err(internal)?;
    Ok(())
}

pub fn assign(
    conn: &Connection,
    thread: Uuid,
    assignee: &Assignee,
    at: Timestamp,
    actor: &Actor,
) -> StoreResult<()> {
    let target = assignee.as_ref().map(|(id, _)| *id);
    let current: Option<Option<Uuid>> = conn
        .prepare_cached("SELECT assignee_id FROM threads WHERE id = ?1")
        .and_then(|mut s| s.query_row([thread], |r| r.get(0)).optional())
        .map_err(internal)?;
    match current {
        None => Err(Missing::Thread(thread).into()),
        Some(current) if current == target => Ok(()),
        Some(_) => {
            conn.prepare_cached("UPDATE threads SET assignee_id = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![thread, target]))
                .map_err(internal)?;
            add_line(
                conn,
                thread,
                at,
                actor,
                &Action::assignment(assignee),
                target,
            )
        }
    }
}

pub fn add_note(
    conn: &Connection,
    thread: Uuid,
    text: String,
    at: Timestamp,
    actor: &Actor,
) -> StoreResult<()> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM threads WHERE id = ?1")
        .and_then(|mut s| s.exists([thread]))
        .map_err(internal)?;
    if !exists {
        return Err(Missing::Thread(thread).into());
    }
    add_line(conn, thread, at, actor, &Action::Noted(text), None)
}

pub fn insert_canned(conn: &Connection, r: &CannedReply) -> StoreResult<()> {
    conn.execute(
        &format!("INSERT INTO canned_replies ({CANNED_COLUMNS}, name_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![r.id, r.name, r.enterprise_id, r.text, r.created_ms, r.name_key()],
    )
    .map_err(|e| unique(e, || format!("A canned reply is named {} already.", r.name)))?;
    Ok(())
}

pub fn mark_read(conn: &Connection, reader: Uuid, thread: Uuid) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO thread_reads (member_id, thread_id, seen_seq) \
         SELECT ?1, ?2, max(seq) FROM messages WHERE thread_id = ?2 HAVING max(seq) IS NOT NULL \
         ON CONFLICT (member_id, thread_id) \
         DO UPDATE SET seen_seq = max(seen_seq, excluded.seen_seq)",
    )
    .and_then(|mut s| s.execute(params![reader, thread]))
    .map_err(internal)?;
    Ok(())
}

#[async_trait]
impl Staff for SqliteStore {
    async fn add_staff(&self, member: StaffMember, password_hash: String) -> StoreResult<()> {
        self.writer
            .write(move |conn| insert(conn, &member, &password_hash))
            .await
    }

    async fn staff(&self) -> StoreResult<Vec<StaffMember>> {
        self.readers
            .read(|conn| {
                let sql = format!("SELECT {COLUMNS} FROM staff_members ORDER BY created_ms, id");
                query(conn, &sql, &Args::new(), |row| member(row))
            })
            .await
    }

    async fn staff_member(&self, id: Uuid) -> StoreResult<Option<StaffMember>> {
        self.readers
            .read(move |conn| Ok(one(conn, "id = :key", Box::new(id))?.map(|(m, _)| m)))
            .await
    }

    async fn staff_login(&self, login: String) -> StoreResult<Option<(StaffMember, String)>> {
        self.readers
            .read(move |conn| one(conn, "login = :key", Box::new(login)))
            .await
    }

    async fn update_staff(
        &self,
        login: String,
        change: StaffChange,
        now_ms: i64,
    ) -> StoreResult<StaffMember> {
        self.writer
            .write(move |conn| update(conn, &login, &change, now_ms))
            .await
    }

    async fn set_password(
        &self,
        id: Uuid,
        password_hash: String,
        must_change: bool,
        sessions_from_ms: i64,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE staff_members SET password_hash = ?2, must_change_password = ?3, \
                                sessions_from_ms = ?4 WHERE id = ?1",
                        params![id, password_hash, must_change, sessions_from_ms],
                    )
                    .map_err(internal)?;
                if changed == 0 {
                    return Err(Missing::StaffMember.into());
                }
                Ok(())
            })
            .await
    }

    async fn thread_history(&self, thread: Uuid) -> StoreResult<ThreadHistory> {
        self.readers.read(move |conn| history(conn, thread)).await
    }

    async fn assign(
        &self,
        thread: Uuid,
        assignee: Assignee,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| assign(conn, thread, &assignee, at, &actor))
            .await
    }

    async fn add_note(
        &self,
        thread: Uuid,
        text: String,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| add_note(conn, thread, text, at, &actor))
            .await
    }

    async fn canned_replies(&self) -> StoreResult<Vec<CannedReply>> {
        self.readers
            .read(|conn| {
                let sql =
                    format!("SELECT {CANNED_COLUMNS} FROM canned_replies ORDER BY name_key, id");
                query(conn, &sql, &Args::new(), |row| staff::canned_reply(row))
            })
            .await
    }

    async fn add_canned_reply(&self, reply: CannedReply) -> StoreResult<()> {
        self.writer
            .write(move |conn| insert_canned(conn, &reply))
            .await
    }

    async fn delete_canned_reply(&self, id: Uuid) -> StoreResult<bool> {
        self.writer
            .write(move |conn| {
                conn.execute("DELETE FROM canned_replies WHERE id = ?1", [id])
                    .map(|n| n > 0)
                    .map_err(internal)
            })
            .await
    }

    async fn seen(&self, reader: Uuid, threads: Vec<Uuid>) -> StoreResult<Vec<(Uuid, i64)>> {
        self.readers
            .read(move |conn| {
                let args: Args = vec![
                    (":reader", Box::new(reader)),
                    (":threads", Box::new(super::query::id_array(&threads))),
                ];
                query(
                    conn,
                    "SELECT thread_id, seen_seq FROM thread_reads \
                     WHERE member_id = :reader AND thread_id IN rarray(:threads)",
                    &args,
                    |row| Ok((row.uuid(0)?, row.int(1)?)),
                )
            })
            .await
    }

    async fn mark_read(&self, reader: Uuid, thread: Uuid) -> StoreResult<()> {
        self.writer
            .write(move |conn| mark_read(conn, reader, thread))
            .await
    }
}
