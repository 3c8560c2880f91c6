//! Staff accounts in PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::tenants::unique;
use super::{PostgresStore, internal};
use crate::domain::staff::Actor;
use crate::domain::staff::{StaffChange, StaffMember};
use crate::domain::time::Timestamp;
use crate::store::row::Row;
use crate::store::staff::{
    self, ACTIVITY_COLUMNS, Action, Assignee, CANNED_COLUMNS, COLUMNS, CannedReply, ThreadHistory,
    member,
};
use crate::store::{Missing, Staff, StoreResult};

pub async fn insert(client: &impl GenericClient, m: &StaffMember, hash: &str) -> StoreResult<()> {
    client
        .execute(
            &format!(
                "INSERT INTO staff_members ({COLUMNS}, password_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &m.id,
                &m.name,
                &m.login,
                &m.role.as_str(),
                &m.scope.ids(),
                &m.disabled,
                &m.must_change_password,
                &m.created_ms,
                &m.sessions_from_ms,
                &hash,
            ],
        )
        .await
        .map_err(|e| unique(e, || "Login is taken already.".to_owned()))?;
    Ok(())
}

async fn one(
    client: &impl GenericClient,
    condition: &str,
    key: &(dyn tokio_postgres::types::ToSql + Sync),
) -> StoreResult<Option<(StaffMember, String)>> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS}, password_hash FROM staff_members WHERE {condition}"),
            &[key],
        )
        .await
        .map_err(internal)?;
    row.map(|row| Ok((member(&row)?, row.string(9)?)))
        .transpose()
}

pub async fn history(client: &impl GenericClient, thread: Uuid) -> StoreResult<ThreadHistory> {
    let authors = client
        .query(
            "SELECT a.message_id, a.name FROM message_authors a \
             JOIN messages m ON m.id = a.message_id WHERE m.thread_id = $1",
            &[&thread],
        )
        .await
        .map_err(internal)?
        .iter()
        .map(|row| Ok((row.uuid(0)?, row.string(1)?)))
        .collect::<StoreResult<_>>()?;
    let activity = client
        .query(
            &format!(
                "SELECT {ACTIVITY_COLUMNS} FROM thread_activity \
                 WHERE thread_id = $1 ORDER BY seq"
            ),
            &[&thread],
        )
        .await
        .map_err(internal)?
        .iter()
        .map(staff::activity)
        .collect::<StoreResult<_>>()?;
    Ok(ThreadHistory { authors, activity })
}

pub async fn insert_canned(client: &impl GenericClient, r: &CannedReply) -> StoreResult<()> {
    client
        .execute(
            &format!(
                "INSERT INTO canned_replies ({CANNED_COLUMNS}, name_key) \
                 VALUES ($1, $2, $3, $4, $5, $6)"
            ),
            &[
                &r.id,
                &r.name,
                &r.enterprise_id,
                &r.text,
                &r.created_ms,
                &r.name_key(),
            ],
        )
        .await
        .map_err(|e| unique(e, || format!("A canned reply is named {} already.", r.name)))?;
    Ok(())
}

#[async_trait]
impl Staff for PostgresStore {
    async fn add_staff(&self, member: StaffMember, password_hash: String) -> StoreResult<()> {
        insert(&self.client().await?, &member, &password_hash).await
    }

    async fn staff(&self) -> StoreResult<Vec<StaffMember>> {
        self.client()
            .await?
            .query(
                &format!("SELECT {COLUMNS} FROM staff_members ORDER BY created_ms, id"),
                &[],
            )
            .await
            .map_err(internal)?
            .iter()
            .map(member)
            .collect()
    }

    async fn staff_member(&self, id: Uuid) -> StoreResult<Option<StaffMember>> {
        Ok(one(&self.client().await?, "id = $1", &id)
            .await?
            .map(|(m, _)| m))
    }

    async fn staff_login(&self, login: String) -> StoreResult<Option<(StaffMember, String)>> {
        one(&self.client().await?, "login = $1", &login).await
    }

    async fn update_staff(
        &self,
        login: String,
        change: StaffChange,
        now_ms: i64,
    ) -> StoreResult<StaffMember> {
        let scope: Option<Vec<Uuid>> = change.scope.as_ref().map(|s| s.ids().to_vec());
        let row = self
            .client()
            .await?
            .query_opt(
                &format!(
                    "UPDATE staff_members SET name = coalesce($2, name), role = coalesce($3, role), \
                            enterprise_ids = coalesce($4, enterprise_ids), \
                            disabled = coalesce($5, disabled), \
                            sessions_from_ms = CASE WHEN $5 THEN $6 ELSE sessions_from_ms END \
                     WHERE login = $1 RETURNING {COLUMNS}"
                ),
                &[
                    &login,
                    &change.name,
                    &change.role.map(|r| r.as_str()),
                    &scope,
                    &change.disabled,
                    &now_ms,
                ],
            )
            .await
            .map_err(internal)?;
        row.map(|row| member(&row))
            .transpose()?
            .ok_or_else(|| Missing::StaffMember.into())
    }

    async fn set_password(
        &self,
        id: Uuid,
        password_hash: String,
        must_change: bool,
        sessions_from_ms: i64,
    ) -> StoreResult<()> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE staff_members SET password_hash = $2, must_change_password = $3, \
                        sessions_from_ms = $4 WHERE id = $1",
                &[&id, &password_hash, &must_change, &sessions_from_ms],
            )
            .await
            .map_err(internal)?;
        if changed == 0 {
            return Err(Missing::StaffMember.into());
        }
        Ok(())
    }

    async fn thread_history(&self, thread: Uuid) -> StoreResult<ThreadHistory> {
        history(&self.client().await?, thread).await
    }

    async fn assign(
        &self,
        thread: Uuid,
        assignee: Assignee,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<()> {
        let target = assignee.as_ref().map(|(id, _)| *id);
        let action = Action::assignment(&assignee);
        // The change and its line in one statement, the line only if the
        // assignee changed; the thread's row tells whether it exists.
        let row = self
            .client()
            .await?
            .query_opt(
                "WITH thread AS (SELECT id, assignee_id FROM threads WHERE id = $1::uuid FOR UPDATE), \
                 changed AS ( \
                     UPDATE threads t SET assignee_id = $2::uuid FROM thread \
                     WHERE t.id = thread.id AND thread.assignee_id IS DISTINCT FROM $2::uuid \
                     RETURNING t.id), \
                 line AS ( \
                     INSERT INTO thread_activity (thread_id, at_utc, member_id, name, action, \
                                                  after_message_id, target_id, detail) \
                     SELECT id, $3::bigint, $4::uuid, $5::text, $6::text, \
                            (SELECT m.id FROM messages m WHERE m.thread_id = $1 \
                             ORDER BY m.seq DESC LIMIT 1), $2::uuid, $7::text \
                     FROM changed) \
                 SELECT 1 FROM thread",
                &[
                    &thread,
                    &target,
                    &at.unix(),
                    &actor.member,
                    &actor.name,
                    &action.as_str(),
                    &action.detail(),
                ],
            )
            .await
            .map_err(internal)?;
        row.map(drop).ok_or_else(|| Missing::Thread(thread).into())
    }

    async fn add_note(
        &self,
        thread: Uuid,
        text: String,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<()> {
        let added = self
            .client()
            .await?
            .execute(
                "INSERT INTO thread_activity (thread_id, at_utc, member_id, name, action, \
                                              after_message_id, detail) \
                 SELECT t.id, $2::bigint, $3::uuid, $4::text, 'Noted', \
                        (SELECT m.id FROM messages m WHERE m.thread_id = t.id \
                         ORDER BY m.seq DESC LIMIT 1), $5::text \
                 FROM threads t WHERE t.id = $1",
                &[&thread, &at.unix(), &actor.member, &actor.name, &text],
            )
            .await
            .map_err(internal)?;
        if added == 0 {
            return Err(Missing::Thread(thread).into());
        }
        Ok(())
    }

    async fn canned_replies(&self) -> StoreResult<Vec<CannedReply>> {
        self.client()
            .await?
            .query(
                &format!("SELECT {CANNED_COLUMNS} FROM canned_replies ORDER BY name_key, id"),
                &[],
            )
            .await
            .map_err(internal)?
            .iter()
            .map(staff::canned_reply)
            .collect()
    }

    async fn add_canned_reply(&self, reply: CannedReply) -> StoreResult<()> {
        insert_canned(&self.client().await?, &reply).await
    }

    async fn delete_canned_reply(&self, id: Uuid) -> StoreResult<bool> {
        let deleted = self
            .client()
            .await?
            .execute("DELETE FROM canned_replies WHERE id = $1", &[&id])
            .await
            .map_err(internal)?;
        Ok(deleted > 0)
    }

    async fn seen(&self, reader: Uuid, threads: Vec<Uuid>) -> StoreResult<Vec<(Uuid, i64)>> {
        self.client()
            .await?
            .query(
                "SELECT thread_id, seen_seq FROM thread_reads \
                 WHERE member_id = $1 AND thread_id = ANY($2)",
                &[&reader, &threads],
            )
            .await
            .map_err(internal)?
            .iter()
            .map(|row| Ok((row.uuid(0)?, row.int(1)?)))
            .collect()
    }

    async fn mark_read(&self, reader: Uuid, thread: Uuid) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO thread_reads (member_id, thread_id, seen_seq) \
                 SELECT $1::uuid, $2::uuid, max(seq) FROM messages WHERE thread_id = $2 \
                 HAVING max(seq) IS NOT NULL \
                 ON CONFLICT (member_id, thread_id) \
                 DO UPDATE SET seen_seq = GREATEST(thread_reads.seen_seq, excluded.seen_seq)",
                &[&reader, &thread],
            )
            .await
            .map_err(internal)?;
        Ok(())
    }
}
