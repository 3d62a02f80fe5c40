/** The user the guest is set up with (cloud-init creates it, with sudo and the owner's key). */
export const GUEST_USER = 'dev';
