-- The member_read policy on organizations reads memberships: drop it before the table.
DROP POLICY member_read ON organizations;
DROP TABLE invitations;
DROP TABLE memberships;
DROP TABLE organizations;
