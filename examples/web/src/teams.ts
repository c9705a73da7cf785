// The Teams section of the web example: the user's organizations (create, list, accept an
// invitation), and for the selected team its shared notes and members, kept current by the
// organization's own feed (client.org(id)); when the user's access ends (removed, or the team
// deleted) the section says so.
import {
  MAX_LIMIT,
  type Member,
  type MemberChange,
  type Note,
  type Org,
  type OrgView,
  type Row,
  type RowChange,
  type User,
  type UserDoClient,
} from '../../../client-ts/src/index.js';

/** What the section borrows from the page. */
export interface Page {
  $<T extends HTMLElement = HTMLElement>(selector: string): T;
  say(message: string, error?: boolean): void;
  sayError(error: unknown): void;
  busy(element: HTMLElement, action: () => Promise<void>): Promise<void>;
  field(form: HTMLFormElement, name: string): HTMLInputElement;
}

/** The Teams section; `enter(user)` at sign-in, `leave()` at sign-out. */
export function teams(client: UserDoClient, page: Page): { enter(user: User): Promise<void>; leave(): void } {
  const { $, say, sayError, busy, field } = page;
  const ui = {
    createForm: $<HTMLFormElement>('#team-create'),
    list: $<HTMLUListElement>('#team-list'),
    acceptForm: $<HTMLFormElement>('#invitation-accept'),
    devInvitation: $<HTMLButtonElement>('#dev-invitation'),
    team: $('#team'),
    name: $('#team-name'),
    role: $('#team-role'),
    live: $('#team-live'),
    lost: $('#team-lost'),
    active: $('#team-active'),
    noteForm: $<HTMLFormElement>('#note-form'),
    notes: $<HTMLUListElement>('#notes'),
    members: $<HTMLUListElement>('#members'),
    inviteForm: $<HTMLFormElement>('#invite-form'),
  };

  let me: User | null = null;
  // Set while the user leaves a team on purpose (the access that ends then is no surprise).
  let leaving: string | null = null;
  let myTeams: OrgView[] = [];

  /** The team shown, its handle on the organization's feed, and what unsubscribes it. */
  let current: { view: OrgView; org: Org; stops: (() => void)[] } | null = null;
  const notes = new Map<string, Row<Note>>();
  let members: Member[] = [];
  /** Changes that arrive while the notes load; applied after, so none is lost to the load. */
  let queued: RowChange<Note>[] | null = null;

  const isAdmin = () => current !== null && current.view.role !== 'member';

  // In development (a worker on this machine) the invitation mail lands in the dev outbox.
  ui.devInvitation.hidden = !['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);

  // ---- the list of teams ----

  async function loadTeams(): Promise<void> {
    myTeams = await client.orgs.list();
    renderTeams();
  }

  function renderTeams(): void {
    ui.list.replaceChildren(
      ...myTeams.map((view) => {
        const item = document.createElement('li');
        item.dataset.id = view.id;
        item.classList.toggle('selected', current?.view.id === view.id);
        const open = document.createElement('button');
        open.type = 'button';
        open.className = 'link';
        open.textContent = view.name;
        open.addEventListener('click', () => void busy(ui.list, () => select(view)));
        const role = document.createElement('small');
        role.textContent = view.role;
        item.append(open, role);
        return item;
      }),
    );
  }

  ui.createForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = field(ui.createForm, 'name');
    void busy(ui.createForm, async () => {
      const view = await client.orgs.create(name.value);
      ui.createForm.reset();
      await loadTeams();
      await select(view);
      say(`Team ${view.name} created.`);
    });
  });

  ui.acceptForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = field(ui.acceptForm, 'token');
    void busy(ui.acceptForm, async () => {
      const view = await client.orgs.accept(token.value.trim());
      ui.acceptForm.reset();
      await loadTeams();
      await select(view);
      say(`You joined ${view.name} as ${view.role}.`);
    });
  });

  ui.devInvitation.addEventListener('click', () => {
    void busy(ui.acceptForm, async () => {
      const email = me?.email ?? '';
      const res = await fetch(`/api/dev/outbox?email=${encodeURIComponent(email)}`);
      const { messages } = res.ok ? ((await res.json()) as { messages: { subject: string; token: string }[] }) : { messages: [] };
      const token = messages.filter((m) => /invit/i.test(m.subject)).at(-1)?.token;
      field(ui.acceptForm, 'token').value = token ?? '';
      say(token ? 'Your newest invitation token is filled in: accept it.' : `No invitation for ${email} in the dev outbox.`, !token);
    });
  });

  // ---- the selected team ----

  function unselect(): void {
    for (const stop of current?.stops ?? []) stop();
    current = null;
    notes.clear();
    members = [];
    queued = null;
  }

  async function select(view: OrgView): Promise<void> {
    unselect();
    const org = client.org(view.id);
    current = { view, org, stops: [] };
    const shown = current;
    ui.team.hidden = false;
    ui.lost.hidden = true;
    ui.active.hidden = false;
    ui.name.textContent = view.name;
    // Subscribe first, then load: nothing that changes in between is missed.
    shown.stops.push(
      org.realtime.onStatus((status) => {
        ui.live.textContent = status === 'open' ? 'live' : status;
        ui.live.classList.toggle('open', status === 'open');
      }),
      org.onAccessLost(() => {
        if (current === shown) accessLost();
      }),
      org.collection('notes').onChange(applyNote),
      org.onMembers((change) => {
        if (current === shown) void membersChanged(change).catch(sayError);
      }),
    );
    ui.live.textContent = org.realtime.status;
    renderTeams();
    renderTeam();
    await Promise.all([reloadNotes(), reloadMembers()]);
  }

  /** The user was removed, left, or the team was deleted: say so and stop showing it. */
  function accessLost(): void {
    const name = current?.view.name ?? 'this team';
    const id = current?.view.id;
    const left = leaving !== null && leaving === id;
    leaving = null;
    unselect();
    myTeams = myTeams.filter((t) => t.id !== id);
    renderTeams();
    renderNotes();
    renderMembers();
    ui.active.hidden = true;
    ui.lost.hidden = false;
    ui.lost.textContent = left ? `You left ${name}.` : `Your access to ${name} ended: you were removed, or the team was deleted.`;
    ui.role.textContent = '';
    ui.live.textContent = 'ended';
    ui.live.classList.remove('open');
    say(left ? `You left ${name}.` : `You no longer have access to ${name}.`, !left);
  }

  /** Someone joined, changed role or left (or events were missed): list the members and one's own role again. */
  async function membersChanged(change: MemberChange): Promise<void> {
    // One's own removal ends access instead (onAccessLost).
    if (change.op === 'remove' && change.userId === me?.id) return;
    await reloadMembers();
  }

  async function reloadMembers(): Promise<void> {
    const shown = current;
    if (!shown) return;
    const list = await client.orgs.members(shown.view.id);
    if (current !== shown) return;
    members = list;
    const mine = list.find((m) => m.userId === me?.id);
    if (mine) shown.view = { ...shown.view, role: mine.role };
    renderTeam();
    renderMembers();
    renderNotes(); // an admin may delete notes
  }

  function renderTeam(): void {
    if (!current) return;
    ui.role.textContent = `you are ${current.view.role}`;
    ui.inviteForm.hidden = !isAdmin();
  }

  function renderMembers(): void {
    ui.members.replaceChildren(
      ...members.map((member) => {
        const item = document.createElement('li');
        item.dataset.userId = member.userId;
        const text = document.createElement('span');
        text.textContent = `${member.email} · ${member.role}`;
        item.append(text);
        const mine = member.userId === me?.id;
        if (mine && member.role !== 'owner') item.append(memberButton('Leave', 'Leave the team', member));
        else if (!mine && isAdmin() && member.role !== 'owner') item.append(memberButton('Remove', `Remove ${member.email}`, member));
        return item;
      }),
    );
  }

  function memberButton(text: string, label: string, member: Member): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary';
    button.textContent = text;
    button.setAttribute('aria-label', label);
    button.addEventListener('click', () => {
      const shown = current;
      if (!shown) return;
      void busy(ui.members, async () => {
        if (member.userId === me?.id) {
          leaving = shown.view.id;
          await client.orgs.leave(shown.view.id);
        } else {
          await client.orgs.removeMember(shown.view.id, member.userId);
          say(`${member.email} was removed from ${shown.view.name}.`);
          await reloadMembers();
        }
      });
    });
    return button;
  }

  ui.inviteForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = field(ui.inviteForm, 'email');
    const shown = current;
    if (!shown) return;
    void busy(ui.inviteForm, async () => {
      const invitation = await client.orgs.invite(shown.view.id, input.value, 'member');
      ui.inviteForm.reset();
      say(`Invitation sent to ${invitation.email}.`);
    });
  });

  // ---- the team's notes ----

  function upsert(row: Row<Note>): void {
    const shown = notes.get(row.id);
    if (!shown || shown.updatedAt <= row.updatedAt) notes.set(row.id, row);
  }

  function applyNote(change: RowChange<Note>): void {
    if (queued) {
      queued.push(change);
      return;
    }
    if (change.op === 'resync') {
      void reloadNotes().catch(sayError);
      return;
    }
    if (change.op === 'delete') notes.delete(change.id);
    else upsert(change.row);
    renderNotes();
  }

  async function reloadNotes(): Promise<void> {
    const shown = current;
    if (!shown) return;
    queued ??= [];
    try {
      const { rows } = await shown.org.collection('notes').query({ orderBy: [['createdAt', 'asc']], limit: MAX_LIMIT });
      if (current !== shown) return;
      notes.clear();
      for (const row of rows) notes.set(row.id, row);
    } finally {
      if (current === shown) {
        const changes = queued ?? [];
        queued = null;
        for (const change of changes) applyNote(change);
        renderNotes();
      }
    }
  }

  function renderNotes(): void {
    ui.notes.replaceChildren(
      ...[...notes.values()]
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
        .map((row) => {
          const item = document.createElement('li');
          item.dataset.id = row.id;
          const title = document.createElement('span');
          title.className = 'title';
          title.textContent = row.title;
          item.append(title);
          if (isAdmin()) {
            const remove = document.createElement('button');
            remove.type = 'button';
            remove.className = 'delete';
            remove.textContent = '×';
            remove.setAttribute('aria-label', `Delete note ${row.title}`);
            remove.addEventListener('click', () => {
              const shown = current;
              if (!shown) return;
              void busy(ui.notes, async () => {
                await shown.org.collection('notes').delete(row.id);
                notes.delete(row.id);
                renderNotes();
              });
            });
            item.append(remove);
          }
          return item;
        }),
    );
  }

  ui.noteForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const title = field(ui.noteForm, 'title');
    const shown = current;
    if (!shown) return;
    void busy(ui.noteForm, async () => {
      upsert(await shown.org.collection('notes').create({ title: title.value }));
      renderNotes();
      ui.noteForm.reset();
      title.focus();
    });
  });

  return {
    async enter(user: User): Promise<void> {
      me = user;
      await loadTeams();
    },
    leave(): void {
      unselect();
      me = null;
      myTeams = [];
      renderTeams();
      renderNotes();
      renderMembers();
      ui.team.hidden = true;
    },
  };
}
