-- The example script of the push notification framework document
-- (reference/push-notification-framework.txt), with the document's line
-- wrapping undone. It needs lua-socket.
local http = require("socket.http")
local url = require("socket.url")

function table_get(t, k, d)
  return t[k] or d
end

function dovecot_lua_notify_begin_txn(user)
  return {messages={}, ep=user:plugin_getenv("push_lua_url"), username=user.username}
end

function dovecot_lua_notify_end_txn(ctx, success)
  local i, msg = next(ctx["messages"], nil)
  while i do
    local r, c = http.request(ctx["ep"], "from=" .. url.escape(table_get(msg, "from", "")) .. "&to=" .. url.escape(table_get(msg, "to", "")) .. "&subject=" .. url.escape(table_get(msg, "subject", "")) .. "&snippet=" .. url.escape(table_get(msg, "snippet", "")) .. "&user=" .. url.escape(ctx["username"]))
    if r and c/100 ~= 2 then
      dovecot.i_error("lua-push: Remote error " .. tostring(c) .. " handling push notication")
    end
    if r == nil then
      dovecot.i_error("lua-push: " .. c)
    end
    i, msg = next(ctx["messages"], i)
  end
end

function dovecot_lua_notify_event_message_append(ctx, event)
  table.insert(ctx["messages"], event)
end

function dovecot_lua_notify_event_message_new(ctx, event)
  table.insert(ctx["messages"], event)
end
