//! The client's side of `authmod=adobe`: with credentials in the URL
//! (`rtmp://user:pass@host/app/key`), the first connect names the user (`authmod=adobe&user=U`,
//! as GStreamer's rtmp2 does when told the authmod: players log in too, not only encoders the
//! server challenges), and each refusal for authentication is answered on a new connection as
//! ffmpeg answers it: the user name after `need auth`, then the response to the challenge.

use super::{ClientError, RtmpUrl};
use crate::proto::adobe::{self, Rejection};
use crate::proto::message::status;

/// Where a client is in the flow.
#[derive(Debug, Default)]
pub(crate) struct ClientAuth {
    credentials: Option<(String, String)>,
    /// The query to append to the next connect's app and tcUrl.
    query: Option<String>,
    /// Whether a challenge was answered (a second one is not).
    answered: bool,
}

impl ClientAuth {
    pub(crate) fn new(url: &RtmpUrl) -> Self {
        let credentials = url.user.clone().zip(url.password.clone());
        let query = credentials.as_ref().map(|(user, _)| user_query(user));
        Self { credentials, query, answered: false }
    }

    /// The auth query of the next connect, if any.
    pub(crate) fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// After a failed attempt: `Ok` to connect again (with [`Self::query`]), or the error to
    /// report, made clearer for an authentication refusal.
    pub(crate) fn retry(&mut self, error: ClientError) -> Result<(), ClientError> {
        let ClientError::Rejected { code, description } = &error else { return Err(error) };
        if code != status::CONNECT_REJECTED {
            return Err(error);
        }
        let Some(rejection) = Rejection::parse(description) else { return Err(error) };
        let refused = |why: &str| ClientError::Rejected {
            code: code.clone(),
            description: format!("{why} ({description})"),
        };
        let Some((user, password)) = &self.credentials else {
            return Err(refused(
                "authentication required: the server asks for a user name and password \
                 (rtmp://USER:PASSWORD@HOST/APP/STREAM)",
            ));
        };
        match rejection {
            Rejection::NeedAuth if self.query.is_none() => {
                self.query = Some(user_query(user));
                Ok(())
            }
            Rejection::Challenge { salt, challenge, opaque } if !self.answered => {
                let mut random = [0u8; 4];
                let _ = getrandom::fill(&mut random);
                let client_challenge = adobe::hex(&random);
                self.query = Some(adobe::client_query(
                    user,
                    password,
                    &salt,
                    challenge.as_deref(),
                    opaque.as_deref(),
                    &client_challenge,
                ));
                self.answered = true;
                Ok(())
            }
            Rejection::AuthFailed => Err(refused(&format!("authfailed: wrong password for user {user:?}"))),
            Rejection::NoSuchUser => Err(refused(&format!("nosuchuser: the server has no user {user:?}"))),
            Rejection::NeedAuth | Rejection::Challenge { .. } => Err(refused("authentication failed")),
        }
    }
}

/// The connect query that names the user.
fn user_query(user: &str) -> String {
    format!("authmod=adobe&user={user}")
}
