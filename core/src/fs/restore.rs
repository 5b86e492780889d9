//! Rebuilding a service from its [`ServiceSnapshot`]: the snapshot types themselves are
//! plain data ([`crate::snapshot`]); the services they describe live here, in [`crate::fs`].
//! Whole namespaces are rebuilt by [`Namespace::from_snapshot`](crate::Namespace::from_snapshot).

use super::{CowFs, MapFs, MemFs};
use crate::error::{FsError, FsResult};
use crate::service::FileService;
use crate::snapshot::ServiceSnapshot;
use std::sync::Arc;

impl ServiceSnapshot {
    /// Rebuilds the service. A `Cow` snapshot without a base needs `base` from the caller.
    pub fn restore(&self, base: Option<Arc<dyn FileService>>) -> FsResult<Arc<dyn FileService>> {
        self.clone().into_service(base)
    }

    /// Like [`Self::restore`], taking the snapshot's file bytes instead of copying them.
    pub fn into_service(
        self,
        base: Option<Arc<dyn FileService>>,
    ) -> FsResult<Arc<dyn FileService>> {
        Ok(match self {
            ServiceSnapshot::Mem(s) => Arc::new(MemFs::from_owned_snapshot(s)?),
            ServiceSnapshot::Map(s) => Arc::new(MapFs::from_owned_snapshot(s)?),
            ServiceSnapshot::Cow {
                base: saved,
                upper,
                whiteouts,
                opaque,
            } => {
                let base = match (saved, base) {
                    (Some(saved), _) => saved.into_service(None)?,
                    (None, Some(given)) => given,
                    (None, None) => {
                        return Err(FsError::InvalidInput(
                            "CowFs snapshot has no base and none was given".into(),
                        ))
                    }
                };
                Arc::new(CowFs::from_parts(
                    base,
                    MemFs::from_owned_snapshot(upper)?,
                    whiteouts.into_iter().collect(),
                    opaque.into_iter().collect(),
                ))
            }
        })
    }
}
