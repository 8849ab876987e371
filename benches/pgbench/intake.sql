-- The statement POST /api/v1/feedback runs on PostgreSQL (see
-- insert_item_and_audit_pg in src/store/feedback.rs), with literals, to measure
-- the database's own ceiling for it. Setup and run: benches/README.md.
WITH n AS (SELECT nextval('tracking_48_x'::regclass) AS v),
item AS (INSERT INTO feedback_item (id, lookup_token_hash, kind, content_category, channel, title, content, search_text, language_flagged, field_id, agency_hint_id, submitter_type, submitter_name, organization_name, address_detail, address_province_code, address_commune_code, phone, email, consent_to_publish, state, receiving_agency_id, received_at, created_at, updated_at, version, tracking_code)
  SELECT gen_random_uuid(), '\x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'::bytea, 'phan_anh', NULL, 'web_form', 'Thủ tục cấp phép xây dựng chậm', 'Hồ sơ xin cấp giấy phép xây dựng của tôi đã quá hạn 30 ngày mà chưa có kết quả, đề nghị xem xét.', 'thu tuc cap phep xay dung cham ho so xin cap giay phep xay dung cua toi da qua han 30 ngay ma chua co ket qua de nghi xem xet', false, (SELECT id FROM field WHERE code='xay_dung'), NULL, 'individual', 'Nguyễn Văn An', NULL, '12 Lê Lợi', '48', '20242', '+84912345678', NULL, false, 'received', (SELECT id FROM agency WHERE code='48.VP'), now(), now(), now(), 1, 'PAKN.48.20261122.' || CASE WHEN n.v < 10000 THEN lpad(n.v::text, 4, '0') ELSE n.v::text END FROM n
  RETURNING id, tracking_code),
audit AS (INSERT INTO audit_event (id, feedback_item_id, actor_kind, actor_id, action, from_state, to_state, reason, details, request_id, occurred_at)
  SELECT gen_random_uuid(), item.id, 'submitter', NULL, 'feedback.received', NULL, 'received', NULL, '{"channel":"web_form","attachments":0}'::json, 'x', now() FROM item)
SELECT tracking_code FROM item;
