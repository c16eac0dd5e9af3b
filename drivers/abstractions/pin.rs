// SPDX-License-Identifier: GPL-2.0

//! Writing the unpinned fields of a pinned value, so that an object whose
//! other fields are pinned (a work item, a lock) can be filled in again in
//! place instead of being freed and allocated anew.

/// `&mut` to field `$field` of `$pinned`, a `Pin<&mut T>`. The field's type
/// must be `Unpin` (checked when compiling): pinning says nothing about such
/// a field, so writing it leaves every pinned field where it is.
macro_rules! unpinned_field_mut {
    ($pinned:expr, $field:ident) => {{
        let pinned: ::core::pin::Pin<&mut _> = $pinned;
        // SAFETY: The closure moves nothing and returns one of the value's
        // own fields, which stays put while the value does; being `Unpin`
        // (`Pin::get_mut`), the field may then be handed out and replaced.
        let field = unsafe { ::core::pin::Pin::map_unchecked_mut(pinned, |v| &mut v.$field) };
        ::core::pin::Pin::get_mut(field)
    }};
}
pub(crate) use unpinned_field_mut;
